//! TODO

use super::{Attrs, Fields};

pub fn read(_a: &Attrs) -> Fields {
    Fields::default()
}
