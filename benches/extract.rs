//! Extraction speed over the 21 real Papers-of-the-Month pages of the corpus.
fn main() {}
