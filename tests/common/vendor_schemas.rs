//! The pager vendors' published request schemas (tests/schemas), as validators.
#![allow(dead_code)]

pub fn schema(rel: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(super::repo().join("tests/schemas").join(rel)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

pub fn assert_valid(v: &jsonschema::Validator, what: &str, body: &serde_json::Value) {
    let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{body:#}");
}
