//! STUB — to be replaced by the scope/filter predicate engine.
#![allow(missing_docs)]
use crate::model::{Conversation, ExportConfig, ExportRequest};
use crate::Result;

#[derive(Debug, Clone)]
pub struct Selector {
    config: ExportConfig,
}

impl Selector {
    pub fn new(request: &ExportRequest) -> Result<Selector> {
        Ok(Selector { config: request.config.clone() })
    }
    pub fn matches(&self, _c: &Conversation) -> bool {
        true
    }
    pub fn config(&self) -> &ExportConfig {
        &self.config
    }
}
