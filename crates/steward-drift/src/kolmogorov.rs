//! Kolmogorov distributions: the finite-n two-sided `kstwo` (Simard & L'Ecuyer's algorithm
//! selection), the one-sided Smirnov distribution and the limiting `kstwobign`.
//!
//! The case split and each method (Ruben-Gambino, Durbin's matrix as organised by Marsaglia,
//! Tsang and Wang, Pomeranz's recursion, Pelz-Good, and the Birnbaum-Tingey sum) follow
//! scipy's `scipy.stats._ksstats` and `xsf/cephes/kolmogorov.h`, so the two-sided asymptotic
//! p-value of `ks_2samp` (= `kstwo.sf(D, round(en))`) agrees with scipy. The Smirnov sum is
//! evaluated in double precision with a separately tracked binomial exponent instead of scipy's
//! double-double arithmetic; its terms are all positive, so the relative error stays ~1e-12.

const E128: i32 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128
const MIN_LOG: f64 = -708.0;
const SQRT2PI: f64 = 2.506_628_274_631_000_2;
const LOG_2PI: f64 = 1.837_877_066_409_345_3;
const PI2: f64 = std::f64::consts::PI * std::f64::consts::PI;

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

fn select(cdfprob: f64, sfprob: f64, cdf: bool) -> f64 {
    clip(if cdf { cdfprob } else { sfprob })
}

/// Survival function of the finite-n two-sided Kolmogorov statistic, `P(D_n >= x)` (`kstwo.sf`).
pub fn kstwo_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 {
        return f64::NAN;
    }
    // kstwo's support starts at 0.5/n; rv_continuous answers 1 below it.
    if x <= 0.5 / n as f64 {
        return 1.0;
    }
    kolmogn(n, x, false)
}

/// CDF of the finite-n two-sided Kolmogorov statistic, `P(D_n <= x)` (`kstwo.cdf`).
pub fn kstwo_cdf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 {
        return f64::NAN;
    }
    kolmogn(n, x, true)
}

fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -0.029550653594771242,
        0.00641025641025641,
        -0.0019175269175269176,
        0.0008417508417508417,
        -0.0005952380952380953,
        0.0007936507936507937,
        -0.002777777777777778,
        0.08333333333333333,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, &c| acc * x + c);
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

fn kolmogn(n: u64, x: f64, cdf: bool) -> f64 {
    let nf = n as f64;
    if x >= 1.0 {
        return select(1.0, 0.0, cdf);
    }
    if x <= 0.0 {
        return select(0.0, 1.0, cdf);
    }
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return select(0.0, 1.0, cdf);
        }
        let prob = if n <= 140 {
            let f = 2.0 * t - 1.0;
            (1..=n).fold(1.0, |acc, i| acc * ((i as f64 * (1.0 / nf)) * f))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return select(prob, 1.0 - prob, cdf);
    }
    if t >= nf - 1.0 {
        let prob = 2.0 * (1.0 - x).powf(nf);
        return select(1.0 - prob, prob, cdf);
    }
    if x >= 0.5 {
        let prob = 2.0 * smirnov_sf(n, x);
        return select(1.0 - prob, prob, cdf);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754_693 {
            let prob = dmtw_cdf(n, x);
            return select(prob, 1.0 - prob, cdf);
        }
        if nxsquared <= 4.0 {
            let prob = pomeranz_cdf(n, x);
            return select(prob, 1.0 - prob, cdf);
        }
        let prob = 2.0 * smirnov_sf(n, x);
        return select(1.0 - prob, prob, cdf);
    }
    if !cdf {
        if nxsquared >= 370.0 {
            return 0.0;
        }
        if nxsquared >= 2.2 {
            return clip(2.0 * smirnov_sf(n, x));
        }
    }
    let cdfprob = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        dmtw_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    select(cdfprob, 1.0 - cdfprob, cdf)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            let brow = &b[k * m..(k + 1) * m];
            let crow = &mut c[i * m..(i + 1) * m];
            for (cj, bj) in crow.iter_mut().zip(brow) {
                *cj += aik * bj;
            }
        }
    }
    c
}

/// Durbin's matrix method (Marsaglia-Tsang-Wang form): `P(D_n <= d)`.
fn dmtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0; m * m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut hpwr = vec![0.0; m * m];
    for i in 0..m {
        hpwr[i * m + i] = 1.0;
    }
    let mut nn = n;
    let mut expnt: i32 = 0;
    let mut hexpnt: i32 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            hpwr = matmul(&hpwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            for v in hm.iter_mut() {
                *v /= EP128;
            }
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = hpwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = libm::ldexp(p, expnt);
    }
    clip(p)
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let ip1div2 = (i + 1) / 2;
        let ip1mod2 = (i + 1) % 2;
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// Pomeranz's recursion: `P(D_n <= x)`.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt: i32 = 0;
    let (g_n, two_g_n, one_m2g_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        let mf = m as f64;
        gpower[m] = gpower[m - 1] * g_n / mf;
        twogpower[m] = twogpower[m - 1] * two_g_n / mf;
        onem2gpower[m] = onem2gpower[m - 1] * one_m2g_n / mf;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|v| *v = 0.0);
        let (nj1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2u = ln2 as usize;
            let start = (k1 - v0s) as usize;
            let a = &v0[start..(start + ln2u).min(npwrs)];
            let b = &pwrs[..ln2u.min(npwrs)];
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1) as usize;
            for (out_idx, slot) in v1.iter_mut().take(conv_len).enumerate() {
                let kidx = conv_start + out_idx;
                let mut s = 0.0;
                for (ia, &av) in a.iter().enumerate() {
                    if ia > kidx {
                        break;
                    }
                    if let Some(&bv) = b.get(kidx - ia) {
                        s += av * bv;
                    }
                }
                *slot = s;
            }
            let maxv = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < maxv && maxv < EM128 {
                v1.iter_mut().for_each(|v| *v *= EP128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = libm::ldexp(ans, expnt);
    }
    clip(ans)
}

/// Pelz-Good asymptotic expansion: `P(D_n <= x)`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI2 / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let pi4 = PI2 * PI2;
    let pi6 = pi4 * PI2;
    let k1a = -z2;
    let k1b = PI2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * PI2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = PI2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / std::f64::consts::PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (ki, c) in k.iter_mut().zip(coeffs) {
            *ki = *ki * qpower + c;
        }
    }
    let denom = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (ki, d) in k.iter_mut().zip(denom) {
        *ki = *ki * q * SQRT2PI / d;
    }
    let q2 = (-PI2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for kk in (1..=maxk).rev() {
        let ks = kk as f64;
        let ksq = ks * ks;
        let qp = q2.powf(ksq);
        let kspi = std::f64::consts::PI * ks;
        k2extra += ksq * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
    }
    k[2] += k2extra * PI2 * SQRT2PI / (-36.0 * z3);
    k[3] += k3extra * PI2 * SQRT2PI / (216.0 * z6);
    let mut sum = 0.0;
    for (i, ki) in k.iter().enumerate() {
        sum += ki / nf.powf(i as f64 / 2.0);
    }
    sum
}

/// One-sided Smirnov survival function `P(D_n^+ >= x)` (scipy's `special.smirnov`).
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nx = nf * x;
    if nx <= 1.0 {
        let t = (1.0 + x).powf(nf - 1.0);
        return clip(1.0 - x * t);
    }
    if -2.0 * nf * x * x < -708.396_418_532_264_1 {
        return 0.0;
    }
    if nx.floor() >= nf - 1.0 {
        return clip((1.0 - x).powf(nf));
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        // scipy's approximation p ~ exp(-(6nx+1)^2 / 18n) for very large n.
        return clip(logp.exp());
    }
    // Birnbaum-Tingey: sf = x * sum_{j=0}^{floor(n(1-x))} C(n,j) (1-x-j/n)^(n-j) (x+j/n)^(j-1).
    let ln2 = std::f64::consts::LN_2;
    let mut c_mant = 1.0f64;
    let mut c_exp: i64 = 0;
    let mut sum = 0.0f64;
    let mut best_ln = f64::NEG_INFINITY;
    let mut prev_ln = f64::NEG_INFINITY;
    for j in 0..n {
        let jf = j as f64;
        let base2 = (nf - jf) / nf - x;
        if base2 <= 0.0 {
            break;
        }
        let base1 = jf / nf + x;
        let ln_term =
            c_mant.ln() + c_exp as f64 * ln2 + (nf - jf) * base2.ln() + (jf - 1.0) * base1.ln();
        let term = ln_term.exp();
        sum += term;
        if ln_term > best_ln {
            best_ln = ln_term;
        }
        // Terms are unimodal in j: stop once they fall far below the running sum.
        if ln_term < prev_ln && sum > 0.0 && ln_term < sum.ln() - 45.0 {
            break;
        }
        prev_ln = ln_term;
        let (m, e) = libm::frexp(c_mant * ((nf - jf) / (jf + 1.0)));
        c_mant = m;
        c_exp += i64::from(e);
    }
    clip(x * sum)
}

/// Survival function of the limiting Kolmogorov distribution (`kstwobign.sf`, scipy's
/// `special.kolmogorov`).
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 || x <= std::f64::consts::PI / (746.0f64 * 8.0).sqrt() {
        return 1.0;
    }
    if x <= 0.82 {
        let w = (2.0 * std::f64::consts::PI).sqrt() / x;
        let logu8 = -PI2 / (x * x);
        let u = (logu8 / 8.0).exp();
        let p = if u == 0.0 {
            (logu8 / 8.0 + w.ln()).exp()
        } else {
            let u8 = logu8.exp();
            let u8cub = u8.powi(3);
            let mut p = 1.0;
            p = 1.0 + u8cub * p;
            p = 1.0 + u8 * u8 * p;
            p = 1.0 + u8 * p;
            w * u * p
        };
        clip(1.0 - p)
    } else {
        let v = (-2.0 * x * x).exp();
        let vsq = v * v;
        let v3 = v.powi(3);
        let mut p = 1.0;
        p = 1.0 - v3 * v3 * v * p;
        p = 1.0 - v3 * vsq * p;
        p = 1.0 - v3 * p;
        clip(2.0 * v * p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiting_distribution_known_points() {
        // scipy.special.kolmogorov(1.0), (0.5)
        assert!((kolmogorov_sf(1.0) - 0.269_999_671_677_354_56).abs() < 1e-15);
        assert!((kolmogorov_sf(0.5) - 0.963_945_243_664_875_1).abs() < 1e-14);
    }

    #[test]
    fn finite_n_edges() {
        assert_eq!(kstwo_sf(10, 0.01), 1.0);
        assert_eq!(kstwo_sf(10, 1.0), 0.0);
        // Ruben-Gambino upper tail: 2 (1 - x)^n.
        let p = kstwo_sf(10, 0.95);
        assert!((p - 2.0 * 0.05f64.powi(10)).abs() < 1e-25);
    }
}
