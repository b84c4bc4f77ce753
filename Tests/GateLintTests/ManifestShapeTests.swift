import GateLint
import Testing

/// Where images hide: workload kinds, custom resources, Helm values and kustomizations, with their paths and lines.
@Suite struct ManifestShapeTests {
    private static let digest = "sha256:" + String(repeating: "0", count: 64)

    @Test func findsContainersAndInitContainersOfADeploymentWithTheirLines() {
        let yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              template:
                spec:
                  initContainers:
                    - name: migrate
                      image: ghcr.io/org/migrate:main
                  containers:
                    - name: web
                      image: ghcr.io/org/web:1.4.2
                    - name: proxy
                      image: envoyproxy/envoy
            """
        let findings = Linter.lint(yaml: yaml, file: "web.yaml")
        #expect(findings.map(\.path) == ["spec.template.spec.initContainers[0].image", "spec.template.spec.containers[1].image"])
        #expect(findings.map(\.line) == [10, 15])
        #expect(findings.map(\.problem) == [.mutableTag, .noTag])
        #expect(findings.map(\.image) == ["ghcr.io/org/migrate:main", "envoyproxy/envoy"])
        #expect(findings.allSatisfy { $0.file == "web.yaml" })
    }

    @Test func findsTheJobTemplateOfACronJob() {
        let yaml = """
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: backup}
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                spec:
                  template:
                    spec:
                      restartPolicy: OnFailure
                      containers:
                        - name: backup
                          image: bitnami/kubectl:1.29
            """
        let findings = Linter.lint(yaml: yaml, file: "cron.yaml")
        #expect(findings.map(\.path) == ["spec.jobTemplate.spec.template.spec.containers[0].image"])
        #expect(findings.map(\.line) == [13])
        #expect(findings.map(\.problem) == [.mutableTag])
    }

    @Test func findsEphemeralContainersOfAPod() {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: debug}
            spec:
              containers: [{name: app, image: "registry.k8s.io/pause:3.9.0"}]
              ephemeralContainers:
                - {name: debugger, image: busybox:latest, targetContainerName: app}
            """
        let findings = Linter.lint(yaml: yaml, file: "pod.yaml")
        #expect(findings.map(\.path) == ["spec.ephemeralContainers[0].image"])
        #expect(findings.map(\.line) == [7])
        #expect(findings.map(\.problem) == [.latest])
    }

    @Test func findsPodTemplatesNestedInCustomResources() {
        let yaml = """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: podinfo}
            spec:
              template:
                spec:
                  containers:
                    - name: podinfo
                      image: ghcr.io/stefanprodan/podinfo:6.5
            ---
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: {name: podinfo}
            spec:
              targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
              analysis: {interval: 1m, threshold: 5}
            """
        let findings = Linter.lint(yaml: yaml, file: "crd.yaml")
        #expect(findings.map(\.path) == ["spec.template.spec.containers[0].image"])
        #expect(findings.map(\.line) == [9])
    }

    @Test func reportsEveryDocumentOfAMultiDocumentFileWithFileLines() {
        let yaml = """
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: a}
            spec:
              containers: [{name: a, image: "nginx"}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: a}
            spec: {ports: [{port: 80}]}
            ---
            # a comment before the document
            apiVersion: v1
            kind: Pod
            metadata: {name: b}
            spec:
              containers:
                - name: b
                  image: nginx:stable
            """
        let findings = Linter.lint(yaml: yaml, file: "all.yaml")
        #expect(findings.map(\.line) == [6, 20])
        #expect(findings.map(\.problem) == [.noTag, .mutableTag])
    }

    @Test func findsHelmValuesInEveryForm() {
        let yaml = """
            image:
              repository: quay.io/jetstack/cert-manager-controller
              tag: latest
            webhook:
              image:
                registry: docker.io
                repository: bitnami/nginx
                tag: "1.25"
                digest: ""
            cainjector:
              image: {repository: quay.io/jetstack/cert-manager-cainjector, tag: v1.13.1}
            sidecar:
              repository: ghcr.io/org/sidecar
              tag: edge
            exporter:
              image: "prom/node-exporter:v1"
            pinned:
              image:
                repository: ghcr.io/org/pinned
                tag: stable
                digest: \(Self.digest)
            """
        let findings = Linter.lint(yaml: yaml, file: "values.yaml")
        #expect(findings.map(\.path) == ["image.tag", "webhook.image.tag", "sidecar.tag", "exporter.image"])
        #expect(findings.map(\.line) == [3, 8, 14, 16])
        #expect(
            findings.map(\.image) == [
                "quay.io/jetstack/cert-manager-controller:latest", "docker.io/bitnami/nginx:1.25", "ghcr.io/org/sidecar:edge",
                "prom/node-exporter:v1",
            ]
        )
        #expect(findings.map(\.problem) == [.latest, .mutableTag, .mutableTag, .mutableTag])
    }

    @Test func helmTagsAreReadAsWrittenNotAsNumbers() {
        // YAML reads `1.20` as the number 1.2; the registry sees the tag "1.20".
        let findings = Linter.lint(yaml: "image:\n  repository: nginx\n  tag: 1.20\n", file: "values.yaml")
        #expect(findings.map(\.image) == ["nginx:1.20"])
        #expect(Linter.lint(yaml: "image:\n  repository: nginx\n  tag: 1.20.0\n", file: "values.yaml").isEmpty)
    }

    @Test func helmValuesThatDeferToTheChartAppVersionAreSkipped() {
        let yaml = """
            image: {repository: quay.io/jetstack/cert-manager-controller, tag: ""}
            webhook:
              image: {repository: quay.io/jetstack/cert-manager-webhook, tag: ~}
            cainjector:
              image:
                repository: quay.io/jetstack/cert-manager-cainjector
            """
        #expect(Linter.lint(yaml: yaml, file: "values.yaml").isEmpty)
    }

    @Test func aMalformedHelmDigestPointsAtTheDigestKey() {
        let yaml = "image:\n  repository: nginx\n  tag: 1.25.3\n  digest: sha256:123\n"
        let findings = Linter.lint(yaml: yaml, file: "values.yaml")
        #expect(findings.map(\.path) == ["image.digest"])
        #expect(findings.map(\.line) == [4])
        #expect(findings.map(\.problem) == [.invalidDigest])
    }

    @Test func findsKustomizeImageOverrides() {
        let yaml = """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources: [deployment.yaml]
            images:
              - name: ghcr.io/upgrade-gate/upgrade-gate
                newTag: main
              - name: nginx
                newName: registry.example.com/nginx
              - name: busybox
                newTag: 1.36.1
                digest: \(Self.digest)
              - name: redis
                newTag: latest
            """
        let findings = Linter.lint(yaml: yaml, file: "kustomization.yaml")
        #expect(findings.map(\.path) == ["images[0].newTag", "images[3].newTag"])
        #expect(findings.map(\.line) == [6, 13])
        #expect(findings.map(\.problem) == [.mutableTag, .latest])
    }

    @Test func yamlWithoutImagesYieldsNothing() {
        let documents = [
            // The gate's own configuration.
            "listen: 0.0.0.0:8080\nprometheus: {url: http://prometheus:9090}\nchecks:\n  - {name: up, query: up, min: 1}\n",
            // Prometheus rules.
            "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n",
            // A ConfigMap whose data merely mentions images.
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  config.yaml: |\n    image: nginx:latest\n",
            "just a scalar", "- a\n- list\n", "", "---\n---\n", "# only a comment\n", "? [complex, key]\n: value\n",
        ]
        for yaml in documents {
            #expect(Linter.lint(yaml: yaml, file: "other.yaml").isEmpty, "\(yaml)")
        }
    }

    @Test func stringsUnderImageThatAreNotReferencesAreIgnored() {
        let yaml = "image: https://example.com/logo.png\nother:\n  image: \"two words\"\n  image2: nginx\n"
        #expect(Linter.lint(yaml: yaml, file: "x.yaml").isEmpty)
    }

    @Test func helmTemplatesThatAreNotYetYAMLAreScannedLineByLine() {
        let template = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: {{ include "app.fullname" . }}
            spec:
              template:
                spec:
                  containers:
                    - name: app
                      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
                    - name: sidecar
                      image: busybox:latest # hard-coded
                    {{- with .Values.extraContainers }}
                    {{- toYaml . | nindent 8 }}
                    {{- end }}
            """
        let findings = Linter.lint(yaml: template, file: "templates/deployment.yaml")
        #expect(findings.map(\.line) == [12])
        #expect(findings.map(\.image) == ["busybox:latest"])
    }
}
