//! RFC 8785 test vectors: number formatting (Appendix B), key order (3.2.3), the main example
//! (3.2.2), and the integer-range rule this crate adds.

use serde_json::{Number, Value, json};
use steward_audit::jcs::{self, JcsError};

#[test]
fn numbers_format_as_ecmascript_per_appendix_b() {
    let cases: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for (bits, expected) in cases {
        let number = Number::from_f64(f64::from_bits(*bits)).expect("finite");
        let text = jcs::to_string(&Value::Number(number)).expect("canonical");
        assert_eq!(text, *expected, "bits {bits:#018x}");
    }
}

#[test]
fn integers_and_parsed_numbers_take_their_shortest_form() {
    let value: Value =
        serde_json::from_str(r#"[1, -1, 10.0, 1E2, 4.50, 2e-3, 1e-7, 123456789012345]"#)
            .expect("json");
    assert_eq!(
        jcs::to_string(&value).expect("canonical"),
        "[1,-1,10,100,4.5,0.002,1e-7,123456789012345]"
    );
}

#[test]
fn rfc_main_example_is_reproduced() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let value: Value = serde_json::from_str(input).expect("json");
    let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
    assert_eq!(jcs::to_string(&value).expect("canonical"), expected);
}

#[test]
fn keys_sort_by_utf16_code_units() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let value: Value = serde_json::from_str(input).expect("json");
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(jcs::to_string(&value).expect("canonical"), expected);
}

#[test]
fn integers_beyond_2_pow_53_are_refused_not_rounded() {
    for value in [
        json!({"a": [1, {"b": 9007199254740993u64}]}),
        json!(-9007199254740993i64),
        json!(u64::MAX),
    ] {
        assert!(
            matches!(jcs::to_vec(&value), Err(JcsError::UnsafeInteger { .. })),
            "{value}"
        );
    }
    let err = jcs::to_vec(&json!({"a": [1, {"b": 9007199254740993u64}]})).expect_err("unsafe");
    assert!(err.to_string().contains("/a/1/b"), "{err}");
    assert!(jcs::to_vec(&json!(9007199254740991u64)).is_ok());
}

#[test]
fn canonical_check_accepts_only_the_canonical_text() {
    assert!(jcs::is_canonical(br#"{"a":1,"b":[true,null]}"#));
    for text in [
        r#"{"b":1,"a":2}"#,
        r#"{"a": 1}"#,
        r#"{"a":1.0}"#,
        r#"{"a":"\u0041"}"#,
        r#"{"a":1}
"#,
    ] {
        assert!(!jcs::is_canonical(text.as_bytes()), "{text}");
    }
}
