//! STUB — to be replaced by the CSV transformer.
#![allow(missing_docs)]
use std::io::Write;

use super::{ExportTransformer, TransformerSettings};
use crate::model::Conversation;
use crate::Result;

#[derive(Debug)]
pub struct CsvTransformer;

impl CsvTransformer {
    pub fn new(_settings: &TransformerSettings) -> Self {
        CsvTransformer
    }
}

impl ExportTransformer for CsvTransformer {
    fn begin(&mut self, out: &mut dyn Write) -> Result<()> {
        out.write_all("\u{FEFF}conversation_id,".as_bytes())?;
        Ok(())
    }
    fn write_conversation(&mut self, _out: &mut dyn Write, _c: &Conversation) -> Result<()> {
        unimplemented!("csv stub")
    }
    fn finish(&mut self, _out: &mut dyn Write) -> Result<()> {
        Ok(())
    }
    fn file_extension(&self) -> &'static str {
        "csv"
    }
    fn mime_type(&self) -> &'static str {
        "text/csv; charset=utf-8"
    }
}
