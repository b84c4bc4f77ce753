-- Argo CD health check for upgradegate.dev/UpgradeWindow. Argo CD has no health check for
-- unknown kinds and skips them, so without this an Application never waits on a window.
-- Install it under the key `resource.customizations.health.upgradegate.dev_UpgradeWindow`
-- of the argocd-cm ConfigMap (deploy/ha/argocd-cm-patch.yaml does exactly that).
--
-- The same reading as kstatus (what Flux uses): a status older than the spec is Progressing;
-- Stalled=True (a sticky fail) is Degraded; Ready=True (a pass) is Healthy; anything else,
-- including pending and inconclusive verdicts, is Progressing.
local hs = {status = "Progressing", message = "Waiting for the gate to judge the window"}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.message = "The window is being deleted"
  return hs
end
if obj.status == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and generation ~= observed then
  hs.message = "UpgradeWindow generation is " .. tostring(generation) .. ", but latest observed generation is " .. tostring(observed)
  return hs
end
local ready = nil
local stalled = nil
if type(obj.status.conditions) == "table" then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then ready = condition end
    if condition.type == "Stalled" then stalled = condition end
  end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or "The window failed"
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "The window passed"
  return hs
end
if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = ready.message
end
return hs
