// swift-tools-version: 6.2
import PackageDescription

// Ergo's Swift benchmarks, a package of their own so that the root package
// carries no benchmark code or dependencies. Build in release mode:
//   swift build -c release --package-path bench/swift
// (bench/run.sh does this and runs the `ergo-bench` executable).
let package = Package(
    name: "ErgoBench",
    products: [
        .executable(name: "ergo-bench", targets: ["ErgoBench"]),
    ],
    dependencies: [
        .package(name: "Ergo", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "ErgoBench",
            dependencies: [.product(name: "Ergo", package: "Ergo")],
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .treatAllWarnings(as: .error),
            ]
        ),
    ]
)
