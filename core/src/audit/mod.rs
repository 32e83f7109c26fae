//! STUB — to be replaced by the audit record builders.
