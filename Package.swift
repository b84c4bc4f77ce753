// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "upgrade-gate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "upgrade-gate", targets: ["UpgradeGate"])
    ],
    // Exact versions instead of a committed Package.resolved: the package mirrors on build machines carry commit ids of
    // their own, so a resolved file made on one machine would break builds on another.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    ],
    targets: [
        // RE2, the linear-time regular expression engine whose syntax Prometheus and Alertmanager use, behind a
        // small C interface (a .cpp file and a header), as CCurl wraps libcurl.
        .target(
            name: "CRE2",
            linkerSettings: [.linkedLibrary("re2")]
        ),
        // Pure domain: checks, rules, baselines, verdicts. No I/O, no package dependencies. It links CRE2 because
        // label matching is computation, not I/O: matchers must run in linear time, which Swift `Regex` (a
        // backtracking engine) cannot promise.
        .target(name: "GateCore", dependencies: ["CRE2"]),
        // libcurl, through typed static-inline wrappers for the variadic setopt/getinfo.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // The only HTTP client in the project.
        .target(
            name: "GateHTTP",
            dependencies: ["CCurl", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        // One folder per upstream system: narrow ports and their live implementations.
        .target(
            name: "GateSources",
            dependencies: ["GateCore", "GateHTTP"]
        ),
        // Bounds on hostile YAML (alias bombs, deep nesting), checked on libyaml's event stream before Yams builds a
        // tree. It imports CYaml, the libyaml that Yams builds and links, because Yams offers no event API and a
        // second copy of libyaml would clash with it at link time.
        .target(
            name: "GateYAML",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // The YAML configuration: one validation pass from file format to domain policy.
        .target(
            name: "GateConfig",
            dependencies: ["GateCore", "GateYAML", .product(name: "Yams", package: "Yams")]
        ),
        // Durable state in SQLite (GRDB, WAL): windows, baselines, evaluations, events.
        .target(
            name: "GateStore",
            dependencies: ["GateCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // `upgrade-gate lint`: the version-pinning policy for manifests and Helm values.
        .target(
            name: "GateLint",
            dependencies: ["GateYAML", .product(name: "Yams", package: "Yams")]
        ),
        // `upgrade-gate preflight`: removed APIs, CRD stored versions and unpinned images, judged before an upgrade.
        .target(
            name: "GatePreflight",
            dependencies: ["GateLint", .product(name: "Yams", package: "Yams")],
            resources: [.embedInCode("Resources/api-removals.yaml")]
        ),
        // Commands' logic, HTTP server, evaluation service, composition root.
        .target(
            name: "GateServer",
            dependencies: [
                "GateCore", "GateHTTP", "GateSources", "GateConfig", "GateStore", "GatePreflight",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // The connection guards (request deadline) are NIO channel handlers on Hummingbird's HTTP parts.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "UpgradeGate",
            dependencies: [
                "GateServer", "GateLint", "GatePreflight", "GateConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmark: statistical judging of 50 series × 600 samples per side (release build).
        .executableTarget(name: "statistical-judging-benchmark", dependencies: ["GateCore"], path: "Benchmarks/StatisticalJudging"),
        // Benchmarks/regex.sh: label matching against catastrophic patterns, RE2 against Swift `Regex`.
        .executableTarget(
            name: "RegexBenchmark",
            dependencies: ["GateCore"],
            path: "Benchmarks/RegexBenchmark"
        ),
        // Test support: a Kubernetes API server that validates Velero objects against the real CRDs.
        .target(
            name: "FakeKubernetes",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/FakeKubernetes",
            resources: [.copy("CRDs")]
        ),
        // Test support: fakes for the engine's ports (metrics, Velero, store), a manual clock, shared helpers.
        .target(
            name: "GateTestKit",
            dependencies: ["GateCore", "GateSources", "GateStore"],
            path: "Tests/GateTestKit"
        ),
        .testTarget(name: "GateCoreTests", dependencies: ["GateCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GateHTTPTests", dependencies: ["GateHTTP", .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(
            name: "GateSourcesTests",
            dependencies: ["GateSources", "GateCore", "GateHTTP", "FakeKubernetes", "GateTestKit"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "GateConfigTests", dependencies: ["GateConfig", "GateCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GateLintTests", dependencies: ["GateLint"]),
        .testTarget(
            name: "GatePreflightTests",
            dependencies: ["GatePreflight", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "GateStoreTests", dependencies: ["GateStore", "GateCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "GateServerTests",
            dependencies: [
                "GateServer", "GateConfig", "GateCore", "GateSources", "GateStore", "GateTestKit", "FakeKubernetes",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "GateServer", "GateSources", "GateHTTP", "GateCore", "GateConfig", "GateLint", "GatePreflight", "GateStore", "UpgradeGate",
                "FakeKubernetes", "GateTestKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
