//! `Math.floor`, `Math.ceil` and `Math.round` for `no_std` (core has no float rounding).

/// `Math.floor(x)`.
pub fn floor(x: f64) -> f64 {
    // Beyond 2^52 every f64 is an integer already; NaN and infinities pass through.
    if !(x.abs() < 4_503_599_627_370_496.0) {
        return x;
    }
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// `Math.ceil(x)`.
pub fn ceil(x: f64) -> f64 {
    -floor(-x)
}

/// `Math.round(x)`: halves round up (towards +∞), as in JavaScript.
pub fn round(x: f64) -> f64 {
    floor(x + 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_javascript() {
        for (x, f, c, r) in [(1.5, 1.0, 2.0, 2.0), (-1.5, -2.0, -1.0, -1.0), (-2.5, -3.0, -2.0, -2.0), (0.0, 0.0, 0.0, 0.0), (3.0, 3.0, 3.0, 3.0), (-0.2, -1.0, -0.0, -0.0), (1e300, 1e300, 1e300, 1e300)] {
            assert_eq!((floor(x), ceil(x), round(x)), (f, c, r), "{x}");
        }
        assert!(floor(f64::NAN).is_nan());
        assert_eq!(floor(f64::INFINITY), f64::INFINITY);
    }
}
