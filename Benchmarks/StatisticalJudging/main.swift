// Judging cost of statistical comparison: 50 series with 600 samples per side, one evaluation at a time,
// in a release build. The target is ≤ 5 ms per evaluation, far below one Prometheus query's latency.
//
// The peer in the same run is the obvious implementation: materialise all 360,000 pairwise differences per
// series and sort them, which is what selection avoids.
//
// Usage: swift run -c release statistical-judging-benchmark [evaluations] [runs]
import Foundation
import GateCore

let arguments = CommandLine.arguments
let evaluations = arguments.count > 1 ? Int(arguments[1]) ?? 100 : 100
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
let seriesCount = 50
let samplesPerSide = 600

/// Deterministic latency-like noise (the mean of four uniforms, scaled): reproducible from run to run.
struct Noise {
    var state: UInt64
    mutating func next() -> Double {
        var total = 0.0
        for _ in 0..<4 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            total += Double(z >> 11) / Double(1 << 53)
        }
        return total / 4
    }
}

var noise = Noise(state: 42)
// Half the series shifted by 10 %, half unchanged, with values rounded to 0.1 ms so ties occur as in real data.
let series: [(labels: Labels, recent: [Double], baseline: [Double])] = (0..<seriesCount).map { index in
    let center = 0.02 + 0.001 * Double(index)
    let factor = index.isMultiple(of: 2) ? 1.1 : 1.0
    let baseline = (0..<samplesPerSide).map { _ in ((center * (0.8 + 0.4 * noise.next())) * 10_000).rounded() / 10_000 }
    let recent = (0..<samplesPerSide).map { _ in ((center * factor * (0.8 + 0.4 * noise.next())) * 10_000).rounded() / 10_000 }
    return (Labels(["verb": "V\(index)"]), recent, baseline)
}
let spec = CompareSpec(window: 600, step: 1, confidence: 0.98, allowedIncrease: .percent(5), minSamples: 20)

/// CPU time of this thread in milliseconds: on a shared machine, the work done, whatever else runs.
func cpuMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1e6
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// One evaluation with the judge: every series compared and decided.
func judgeAll() -> Int {
    var broken = 0
    for item in series {
        let judgement = judgeComparison(check: "p99", spec: spec, labels: item.labels, recent: item.recent, baseline: item.baseline)
        if judgement.result == .broken { broken += 1 }
    }
    return broken
}

/// The peer: the same shift and interval from every difference, materialised and sorted.
func sortEveryDifference() -> Double {
    var checksum = 0.0
    let k = 160_000  // a rank near the interval's lower bound; the work is the sort, whatever the rank
    var differences = [Double](repeating: 0, count: samplesPerSide * samplesPerSide)
    for item in series {
        var index = 0
        for a in item.recent {
            for b in item.baseline {
                differences[index] = a - b
                index += 1
            }
        }
        differences.sort()
        checksum += differences[k] + differences[differences.count / 2] + differences[differences.count - 1 - k]
    }
    return checksum
}

let clock = ContinuousClock()
var failing = 0
for _ in 0..<3 { failing = judgeAll() }  // warm up
print("statistical judging: \(seriesCount) series × \(samplesPerSide) samples per side, \(evaluations) evaluations per run, \(runs) runs")
print("series failing per evaluation: \(failing) of \(seriesCount) (half are shifted by 10% against a 5% allowance)")
var runMedians: [Double] = []
var cpuMedians: [Double] = []
for run in 1...runs {
    var times: [Double] = []
    var cpu: [Double] = []
    for _ in 0..<evaluations {
        let start = clock.now
        let startCPU = cpuMilliseconds()
        failing &+= judgeAll()
        cpu.append(cpuMilliseconds() - startCPU)
        times.append(milliseconds(start.duration(to: clock.now)))
    }
    let sorted = times.sorted()
    let p90 = sorted[Int(Double(sorted.count - 1) * 0.9)]
    runMedians.append(median(times))
    cpuMedians.append(median(cpu))
    print(String(format: "run %d: wall median %.3f ms (p90 %.3f ms), CPU median %.3f ms per evaluation", run, median(times), p90, median(cpu)))
}
var peer: [Double] = []
for _ in 0..<3 {
    let start = clock.now
    _ = sortEveryDifference()
    peer.append(milliseconds(start.duration(to: clock.now)))
}
let judged = median(runMedians)
print(String(format: "median of run medians: wall %.3f ms, CPU %.3f ms per evaluation (target ≤ 5 ms)", judged, median(cpuMedians)))
print(
    String(
        format: "peer, sorting all 360,000 differences per series: median %.1f ms per evaluation (%.0f× slower)",
        median(peer),
        median(peer) / judged
    )
)
if median(cpuMedians) > 5 {
    print("TARGET MISSED")
    exit(1)
}
