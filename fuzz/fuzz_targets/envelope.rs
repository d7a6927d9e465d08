#![no_main]
//! Any bytes as a Lambda event, and as a gzip payload: decode, and analyse what decodes.
use apigw_doctor::engine::analysis::Analyzer;
use apigw_doctor::engine::config::EngineConfig;
use apigw_doctor::logs::envelope::{self, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = EngineConfig::default();
    if let Ok(inflated) = envelope::decode_lambda_event(data, 1 << 22) {
        // The Lambda's path: events streamed into the engine.
        let mut a = Analyzer::new(&config);
        for i in &inflated {
            let _ = envelope::visit_documents(&i.bytes, &i.origin, &mut a);
        }
        let _ = a.finish();
        // The collected documents, as the tests read them.
        for i in &inflated {
            if let Ok(docs) = envelope::documents(i) {
                let mut a = Analyzer::new(&config);
                for d in &docs {
                    a.add_document(d);
                }
                let _ = a.finish();
            }
        }
    }
    if let Ok(i) = envelope::inflate(data, 1 << 22, Origin::at("fuzz")) {
        let _ = envelope::documents(&i);
    }
});
