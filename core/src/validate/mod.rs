//! STUB — to be replaced by the output validators.
