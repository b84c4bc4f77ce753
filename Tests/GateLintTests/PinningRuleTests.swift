import GateLint
import Testing

/// The pinning rules, one image reference at a time, judged in the smallest manifest that holds one.
@Suite struct PinningRuleTests {
    private static let zeros = String(repeating: "0", count: 64)
    private static let digest = "sha256:" + String(repeating: "ab", count: 32)

    private func problem(of image: String) -> LintProblem? {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers:
                - name: app
                  image: "\(image)"
            """
        let findings = Linter.lint(yaml: yaml, file: "pod.yaml")
        #expect(findings.count <= 1)
        return findings.first?.problem
    }

    @Test(
        arguments: [
            "nginx:1.25.3", "v1.13.1", "1.13.1", "1.13.1-alpine", "2.42.0+ds", "1.2.3.4", "v1.2.3-rc.1", "6.3.1-bookworm",
        ].map { $0.contains(":") ? $0 : "quay.io/jetstack/cert-manager-controller:\($0)" }
    )
    func fullVersionTagsArePinnedWithoutDigest(image: String) {
        #expect(problem(of: image) == nil)
    }

    @Test(arguments: ["stable", "main", "edge", "v1", "1", "1.2", "v1.2", "alpine", "nightly", "1.2-alpine", "bookworm-slim", "sha-1a2b3c4"])
    func floatingTagsWithoutDigestAreMutable(tag: String) {
        #expect(problem(of: "ghcr.io/org/app:\(tag)") == .mutableTag)
    }

    @Test(arguments: ["stable", "1.2", "main", "bookworm-slim"])
    func aDigestPinsAFloatingTag(tag: String) {
        #expect(problem(of: "ghcr.io/org/app:\(tag)@\(Self.digest)") == nil)
    }

    @Test func aDigestAloneIsPinned() {
        #expect(problem(of: "nginx@\(Self.digest)") == nil)
        #expect(problem(of: "ghcr.io/upgrade-gate/upgrade-gate:0.1.0@sha256:\(Self.zeros)") == nil)
        #expect(problem(of: "nginx@sha512:" + String(repeating: "0f", count: 64)) == nil)
    }

    @Test(arguments: ["nginx:latest", "nginx:Latest", "docker.io/library/nginx:latest@" + digest, "localhost:5000/app:latest"])
    func latestIsAlwaysFlaggedEvenWithADigest(image: String) {
        #expect(problem(of: image) == .latest)
    }

    @Test(arguments: ["nginx", "library/nginx", "docker.io/library/nginx", "localhost:5000/app", "registry.example.com:443/team/app"])
    func noTagAndNoDigestMeansLatest(image: String) {
        #expect(problem(of: image) == .noTag)
    }

    @Test func aRegistryPortIsNotATag() {
        #expect(problem(of: "localhost:5000/app:1.2.3") == nil)
        #expect(problem(of: "localhost:5000/team/app:main") == .mutableTag)
        #expect(problem(of: "10.0.0.1:5000/app") == .noTag)
    }

    @Test(arguments: ["nginx@sha256:abc", "nginx:1.2@sha256:" + String(repeating: "A", count: 64), "nginx@md5:0123", "nginx@"])
    func malformedDigestsAreReported(image: String) {
        #expect(problem(of: image) == .invalidDigest)
    }

    @Test func templatePlaceholdersAreSkipped() {
        #expect(problem(of: "{{ .Values.image.repository }}:{{ .Values.image.tag }}") == nil)
        #expect(problem(of: "ghcr.io/org/app:${TAG}") == nil)
    }

    @Test func findingDescriptionNamesFileLinePathImageAndFix() {
        let yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              template:
                spec:
                  containers:
                    - name: web
                      image: ghcr.io/x/y:latest
            """
        let findings = Linter.lint(yaml: yaml, file: "deploy/base/deployment.yaml")
        #expect(
            findings.map(\.description) == [
                "deploy/base/deployment.yaml:9: spec.template.spec.containers[0].image: ghcr.io/x/y:latest uses the mutable tag "
                    + "\"latest\"; pin a version tag and a digest (@sha256:…)"
            ]
        )
        #expect(findings.first?.problem.label == "latest")
    }

    @Test func eachProblemExplainsItself() {
        let descriptions = [
            LintFinding(file: "f.yaml", line: 3, path: "image", image: "nginx", problem: .noTag),
            LintFinding(file: "f.yaml", line: nil, path: "image", image: "nginx:stable", problem: .mutableTag),
            LintFinding(file: "f.yaml", line: 4, path: "image", image: "nginx@sha256:abc", problem: .invalidDigest),
        ].map(\.description)
        #expect(
            descriptions[0] == "f.yaml:3: image: nginx has no tag and no digest, so it pulls \"latest\"; pin a version tag and a digest (@sha256:…)"
        )
        #expect(descriptions[1].hasPrefix("f.yaml: image: nginx:stable uses the mutable tag \"stable\" without a digest; pin a full version tag"))
        #expect(descriptions[2].contains("malformed digest \"sha256:abc\""))
        #expect([LintProblem.noTag, .latest, .mutableTag, .invalidDigest].map(\.label) == ["no_tag", "latest", "mutable_tag", "invalid_digest"])
    }
}
