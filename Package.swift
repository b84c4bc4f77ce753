// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "upgrade-gate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "upgrade-gate", targets: ["UpgradeGate"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Pure domain: checks, rules, baselines, verdicts. No I/O, no dependencies.
        .target(name: "GateCore"),
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
        // The YAML configuration: one validation pass from file format to domain policy.
        .target(
            name: "GateConfig",
            dependencies: ["GateCore", .product(name: "Yams", package: "Yams")]
        ),
        // Durable state in SQLite (GRDB, WAL): windows, baselines, evaluations, events.
        .target(
            name: "GateStore",
            dependencies: ["GateCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // `upgrade-gate lint`: the version-pinning policy for manifests and Helm values.
        .target(
            name: "GateLint",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Commands' logic, HTTP server, evaluation service, composition root.
        .target(
            name: "GateServer",
            dependencies: [
                "GateCore", "GateHTTP", "GateSources", "GateConfig", "GateStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .executableTarget(
            name: "UpgradeGate",
            dependencies: [
                "GateServer", "GateLint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
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
        .testTarget(name: "GateCoreTests", dependencies: ["GateCore"]),
        .testTarget(name: "GateHTTPTests", dependencies: ["GateHTTP", .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "GateSourcesTests", dependencies: ["GateSources", "GateHTTP", "FakeKubernetes"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GateConfigTests", dependencies: ["GateConfig"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GateLintTests", dependencies: ["GateLint"]),
        .testTarget(name: "GateStoreTests", dependencies: ["GateStore"]),
        .testTarget(name: "GateServerTests", dependencies: ["GateServer", "GateConfig", "GateSources", .product(name: "Logging", package: "swift-log")], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "GateServer", "GateSources", "GateHTTP", "GateCore", "GateConfig", "GateLint", "UpgradeGate", "FakeKubernetes",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
