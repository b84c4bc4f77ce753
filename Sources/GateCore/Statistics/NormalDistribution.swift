// The Swift standard library has no error function. The platform C math library has one; it is
// pure arithmetic (no I/O, no state), so the core may use it without giving up being pure.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The standard normal distribution function Φ(x), evaluated the way Cephes' `ndtr` (and so SciPy) does:
/// `erf` near zero, `erfc` in the tails, so tail probabilities keep their relative precision.
func normalCDF(_ x: Double) -> Double {
    let halfSqrt2 = 0.70710678118654752440
    let scaled = x * halfSqrt2
    let magnitude = abs(scaled)
    if magnitude < halfSqrt2 {
        return 0.5 + 0.5 * erf(scaled)
    }
    let tail = 0.5 * erfc(magnitude)
    return scaled > 0 ? 1 - tail : tail
}
