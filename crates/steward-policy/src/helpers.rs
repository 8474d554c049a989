//! The helper functions of the policy language: thresholds, hysteresis, history and statistics.
//!
//! Helpers are pure functions of their arguments. Numeric parameters accept integers and
//! floats alike (rhai does not convert between them on its own); helpers that read the
//! context return `()` when the value is absent, so scripts can test `if x == () { ... }`.

use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, Module, NativeCallContext};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Name and arity of every helper here, for the linter and the guide.
pub const HELPERS: [(&str, usize); 23] = [
    ("hysteresis", 4),
    ("breaches", 3),
    ("drifted_features", 1),
    ("feature", 2),
    ("slice", 2),
    ("metric", 2),
    ("baseline_metric", 2),
    ("metric_drop", 2),
    ("higher_is_better", 1),
    ("no_worse_than", 4),
    ("relative_change", 2),
    ("now", 1),
    ("incident_open", 2),
    ("last_decision", 2),
    ("since_last", 2),
    ("cooldown_over", 3),
    ("mean", 1),
    ("median", 1),
    ("stddev", 1),
    ("percentile", 2),
    ("min_of", 1),
    ("max_of", 1),
    ("count_above", 2),
];

/// Metrics where a smaller value is better; everything else (auc, accuracy, f1...) is
/// taken as higher-is-better.
const LOWER_IS_BETTER: [&str; 9] = [
    "log_loss",
    "logloss",
    "brier",
    "rmse",
    "mse",
    "mae",
    "mape",
    "error_rate",
    "calibration_error",
];

fn fail<T>(ctx: &NativeCallContext, message: String) -> RhaiResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        message.into(),
        ctx.call_position(),
    )))
}

fn num(ctx: &NativeCallContext, func: &str, v: &Dynamic) -> RhaiResult<f64> {
    if let Ok(f) = v.as_float() {
        Ok(f)
    } else if let Ok(i) = v.as_int() {
        // Precision loss above 2^53 is irrelevant for metric values and thresholds.
        Ok(i as f64)
    } else {
        fail(
            ctx,
            format!("{func}: expected a number, got {}", v.type_name()),
        )
    }
}

fn numbers(ctx: &NativeCallContext, func: &str, values: &Array) -> RhaiResult<Vec<f64>> {
    values.iter().map(|v| num(ctx, func, v)).collect()
}

/// Calls `f` on the value at `path` inside `value`, borrowing all the way (no deep clones).
fn with_value<R>(value: &Dynamic, path: &[&str], f: impl FnOnce(&Dynamic) -> R) -> Option<R> {
    match path.split_first() {
        None => Some(f(value)),
        Some((key, rest)) => {
            let map = value.read_lock::<Map>()?;
            with_value(map.get(*key)?, rest, f)
        }
    }
}

/// Calls `f` on the value at `path` inside the context map.
fn with_at<R>(ctx: &Map, path: &[&str], f: impl FnOnce(&Dynamic) -> R) -> Option<R> {
    let (first, rest) = path.split_first()?;
    with_value(ctx.get(*first)?, rest, f)
}

/// A clone of the (small, scalar) value at `path`.
fn get(ctx: &Map, path: &[&str]) -> Option<Dynamic> {
    with_at(ctx, path, Dynamic::clone)
}

/// Calls `f` on each element of the array at `path`, by reference.
fn each_at<R>(ctx: &Map, path: &[&str], f: impl FnMut(&Dynamic) -> Option<R>) -> Vec<R> {
    with_at(ctx, path, |v| {
        v.read_lock::<Array>()
            .map(|a| a.iter().filter_map(f).collect())
    })
    .flatten()
    .unwrap_or_default()
}

fn field_str(item: &Dynamic, key: &str) -> Option<ImmutableString> {
    item.read_lock::<Map>()?
        .get(key)?
        .read_lock::<ImmutableString>()
        .map(|s| s.clone())
}

fn field_num(item: &Dynamic, key: &str) -> Option<f64> {
    let map = item.read_lock::<Map>()?;
    let v = map.get(key)?;
    v.as_float()
        .ok()
        .or_else(|| v.as_int().ok().map(|i| i as f64))
}

fn float_or_unit(v: Option<f64>) -> Dynamic {
    v.map_or(Dynamic::UNIT, Dynamic::from_float)
}

fn higher_is_better(metric: &str) -> bool {
    !LOWER_IS_BETTER.contains(&metric.to_ascii_lowercase().as_str())
}

/// "Now" of a context: the window end for `on_window`, the request time for `on_promotion`.
fn now_of(ctx: &Map) -> Option<i64> {
    get(ctx, &["window", "end"])
        .or_else(|| get(ctx, &["requested_at"]))
        .and_then(|v| v.as_int().ok())
}

fn find_item(ctx: &Map, path: &[&str], key: &str, wanted: &str) -> Dynamic {
    let mut found = each_at(ctx, path, |item| {
        field_str(item, key)
            .is_some_and(|v| v == wanted)
            .then(|| item.clone())
    });
    if found.is_empty() {
        Dynamic::UNIT
    } else {
        found.swap_remove(0)
    }
}

/// The time of the newest recorded decision of `kind`, and its index in `recent_decisions`.
fn last_decision_at(ctx: &Map, kind: &str) -> Option<(i64, usize)> {
    let mut index = 0;
    each_at(ctx, &["recent_decisions"], |d| {
        index += 1;
        if get_decision_kind(d).is_none_or(|k| k != kind) {
            return None;
        }
        Some((d.read_lock::<Map>()?.get("at")?.as_int().ok()?, index - 1))
    })
    .into_iter()
    .max()
}

fn last_decision(ctx: &Map, kind: &str) -> Option<Dynamic> {
    let (_, index) = last_decision_at(ctx, kind)?;
    with_at(ctx, &["recent_decisions"], |v| {
        v.read_lock::<Array>().and_then(|a| a.get(index).cloned())
    })
    .flatten()
}

fn get_decision_kind(recorded: &Dynamic) -> Option<ImmutableString> {
    let map = recorded.read_lock::<Map>()?;
    field_str(map.get("decision")?, "kind")
}

fn since_last(ctx: &Map, kind: &str) -> Option<i64> {
    let (at, _) = last_decision_at(ctx, kind)?;
    Some(now_of(ctx)?.saturating_sub(at))
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn percentile_of(ctx: &NativeCallContext, values: &Array, p: f64) -> RhaiResult<Dynamic> {
    if !(0.0..=100.0).contains(&p) {
        return fail(
            ctx,
            format!("percentile: p must be between 0 and 100, got {p}"),
        );
    }
    let values = sorted(numbers(ctx, "percentile", values)?);
    if values.is_empty() {
        return Ok(Dynamic::UNIT);
    }
    // Linear interpolation between closest ranks.
    let rank = p / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let frac = rank - lo as f64;
    Ok(Dynamic::from_float(
        values[lo] + (values[hi] - values[lo]) * frac,
    ))
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Registers every helper into `module`.
pub(crate) fn register(module: &mut Module) {
    module.set_native_fn(
        "hysteresis",
        |ctx: NativeCallContext, value: Dynamic, low: Dynamic, high: Dynamic, was_on: bool| {
            let (v, lo, hi) = (
                num(&ctx, "hysteresis", &value)?,
                num(&ctx, "hysteresis", &low)?,
                num(&ctx, "hysteresis", &high)?,
            );
            if lo > hi {
                return fail(
                    &ctx,
                    format!("hysteresis: low ({lo}) must not exceed high ({hi})"),
                );
            }
            Ok(if v >= hi {
                true
            } else if v <= lo {
                false
            } else {
                was_on
            })
        },
    );
    module.set_native_fn(
        "breaches",
        |ctx: NativeCallContext, c: &mut Map, statistic: &str, threshold: Dynamic| {
            let t = num(&ctx, "breaches", &threshold)?;
            Ok(each_at(c, &["drift", "features"], |f| {
                let hit = field_str(f, "statistic").is_some_and(|s| s == statistic)
                    && field_num(f, "value").is_some_and(|v| v >= t);
                if hit {
                    field_str(f, "feature").map(Dynamic::from)
                } else {
                    None
                }
            }))
        },
    );
    module.set_native_fn("drifted_features", |c: &mut Map| {
        Ok(each_at(c, &["drift", "features"], |f| {
            let drifted = f
                .read_lock::<Map>()
                .and_then(|m| m.get("drifted")?.as_bool().ok())
                .unwrap_or(false);
            if drifted {
                field_str(f, "feature").map(Dynamic::from)
            } else {
                None
            }
        }))
    });
    module.set_native_fn("feature", |c: &mut Map, name: &str| {
        Ok(find_item(c, &["drift", "features"], "feature", name))
    });
    module.set_native_fn("slice", |c: &mut Map, name: &str| {
        Ok(find_item(c, &["drift", "slices"], "name", name))
    });
    module.set_native_fn("metric", |c: &mut Map, name: &str| {
        Ok(get(c, &["performance", "metrics", name]).unwrap_or(Dynamic::UNIT))
    });
    module.set_native_fn("baseline_metric", |c: &mut Map, name: &str| {
        Ok(get(c, &["baseline", "metrics", name]).unwrap_or(Dynamic::UNIT))
    });
    // How much worse the window is than the baseline; positive means worse, whichever the
    // metric's direction. `()` until labels have arrived.
    module.set_native_fn("metric_drop", |c: &mut Map, name: &str| {
        let current = get(c, &["performance", "metrics", name]).and_then(|v| v.as_float().ok());
        let base = get(c, &["baseline", "metrics", name]).and_then(|v| v.as_float().ok());
        Ok(float_or_unit(current.zip(base).map(|(cur, b)| {
            if higher_is_better(name) {
                b - cur
            } else {
                cur - b
            }
        })))
    });
    module.set_native_fn("higher_is_better", |name: &str| Ok(higher_is_better(name)));
    // True when `candidate` is at most `tolerance` worse than `champion` on `metric`.
    module.set_native_fn(
        "no_worse_than",
        |ctx: NativeCallContext,
         metric: &str,
         candidate: Dynamic,
         champion: Dynamic,
         tolerance: Dynamic| {
            let f = "no_worse_than";
            let (cand, champ, tol) = (
                num(&ctx, f, &candidate)?,
                num(&ctx, f, &champion)?,
                num(&ctx, f, &tolerance)?,
            );
            Ok(if higher_is_better(metric) {
                cand >= champ - tol
            } else {
                cand <= champ + tol
            })
        },
    );
    module.set_native_fn(
        "relative_change",
        |ctx: NativeCallContext, new: Dynamic, old: Dynamic| {
            let (n, o) = (
                num(&ctx, "relative_change", &new)?,
                num(&ctx, "relative_change", &old)?,
            );
            Ok(float_or_unit((o != 0.0).then(|| (n - o) / o.abs())))
        },
    );
    module.set_native_fn("now", |c: &mut Map| {
        Ok(now_of(c).map_or(Dynamic::UNIT, Dynamic::from_int))
    });
    module.set_native_fn("incident_open", |c: &mut Map, key: &str| {
        Ok(!find_item(c, &["open_incidents"], "key", key).is_unit())
    });
    module.set_native_fn("last_decision", |c: &mut Map, kind: &str| {
        Ok(last_decision(c, kind).unwrap_or(Dynamic::UNIT))
    });
    module.set_native_fn("since_last", |c: &mut Map, kind: &str| {
        Ok(since_last(c, kind).map_or(Dynamic::UNIT, Dynamic::from_int))
    });
    // True when no `kind` decision was made within the last `seconds`.
    module.set_native_fn("cooldown_over", |c: &mut Map, kind: &str, seconds: i64| {
        Ok(since_last(c, kind).is_none_or(|elapsed| elapsed >= seconds))
    });
    module.set_native_fn("mean", |ctx: NativeCallContext, v: Array| {
        Ok(float_or_unit(mean(&numbers(&ctx, "mean", &v)?)))
    });
    module.set_native_fn("median", |ctx: NativeCallContext, v: Array| {
        percentile_of(&ctx, &v, 50.0)
    });
    module.set_native_fn(
        "percentile",
        |ctx: NativeCallContext, v: Array, p: Dynamic| {
            let p = num(&ctx, "percentile", &p)?;
            percentile_of(&ctx, &v, p)
        },
    );
    // Sample standard deviation (n - 1); `()` for fewer than two values.
    module.set_native_fn("stddev", |ctx: NativeCallContext, v: Array| {
        let values = numbers(&ctx, "stddev", &v)?;
        let sd = mean(&values).filter(|_| values.len() > 1).map(|m| {
            (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
        });
        Ok(float_or_unit(sd))
    });
    module.set_native_fn("min_of", |ctx: NativeCallContext, v: Array| {
        Ok(float_or_unit(
            sorted(numbers(&ctx, "min_of", &v)?).first().copied(),
        ))
    });
    module.set_native_fn("max_of", |ctx: NativeCallContext, v: Array| {
        Ok(float_or_unit(
            sorted(numbers(&ctx, "max_of", &v)?).last().copied(),
        ))
    });
    module.set_native_fn(
        "count_above",
        |ctx: NativeCallContext, v: Array, t: Dynamic| {
            let t = num(&ctx, "count_above", &t)?;
            Ok(numbers(&ctx, "count_above", &v)?
                .into_iter()
                .filter(|x| *x > t)
                .count() as i64)
        },
    );
}
