//! The top-level values a render's expressions and templates read: parameters, derived values and
//! `template`.
//!
//! A set's top-level names are fixed when it loads, so each gets a slot then, and a render fills the
//! slots. Templates look names up far more often than anything else they do; a slot found through a
//! fast hash of the name costs a fraction of building a fresh map of values per render and finding
//! names in it through SipHash (minijinja's maps).

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::FixedState;
use minijinja::value::{Enumerator, Object, ObjectExt, Serde};
use minijinja::Value;
use serde_json::Value as Json;

/// A set's top-level names, numbered once at load.
#[derive(Debug)]
pub(crate) struct Names {
    slots: HashMap<Box<str>, usize, FixedState>,
    names: Vec<Value>,
}

impl Names {
    /// Numbers the names in order; a name given twice keeps its first slot.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Arc<Names> {
        let mut slots = HashMap::with_hasher(FixedState::default());
        let mut list = Vec::new();
        for name in names {
            slots.entry(name.into()).or_insert_with(|| {
                list.push(Value::from(name));
                list.len() - 1
            });
        }
        Arc::new(Names { slots, names: list })
    }
}

/// One render's values by slot; unset slots read as undefined (an error: undefined is strict).
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    names: Arc<Names>,
    values: Vec<Option<Value>>,
}

impl Scope {
    pub fn new(names: &Arc<Names>) -> Scope {
        Scope {
            names: names.clone(),
            values: vec![None; names.names.len()],
        }
    }

    /// Sets a name of the set; a name the set does not have is ignored.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Some(&slot) = self.names.slots.get(name) {
            self.values[slot] = Some(value);
        }
    }

    /// Sets a name to a JSON value.
    pub fn set_json(&mut self, name: &str, value: &Json) {
        self.set(name, json_to_value(value));
    }

    fn get(&self, name: &str) -> Option<Value> {
        let slot = *self.names.slots.get(name)?;
        self.values[slot].clone()
    }

    /// The scope as the context of an evaluation (a snapshot: later `set`s do not reach it).
    pub fn context(&self) -> Value {
        Value::from_object(self.clone())
    }
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.get(key)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.mapped_enumerator(|this| {
            Box::new(
                this.names
                    .names
                    .iter()
                    .zip(&this.values)
                    .filter(|(_, value)| value.is_some())
                    .map(|(name, _)| name.clone()),
            )
        })
    }
}

/// A JSON value as a template value: strings, booleans and null directly, the rest through serde.
fn json_to_value(value: &Json) -> Value {
    match value {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::String(s) => Value::from(s.as_str()),
        Json::Number(_) | Json::Array(_) | Json::Object(_) => Value::from(Serde(value)),
    }
}
