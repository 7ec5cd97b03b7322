//! One render's allowance of work and output, shared by every evaluation it makes: validation's
//! rules, derived values, conditions, output paths and every file.
//!
//! minijinja meters fuel per evaluation, and every evaluation starts with the whole budget; after
//! each one its use is charged here. So no evaluation goes past the budget, and the render stops at
//! the first evaluation that takes the total past it: a render never does more than twice its
//! budget's work.

use std::io;

use minijinja::State;

use crate::error::{Error, ErrorKind};
use crate::manifest::Limits;

pub(crate) struct Budget {
    limits: Limits,
    fuel_used: u64,
    bytes_used: u64,
    /// Set by [`Budget::writer`] when a file's output passed the limit, so that the resulting
    /// write failure is reported as what it is.
    output_exceeded: bool,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            fuel_used: 0,
            bytes_used: 0,
            output_exceeded: false,
        }
    }

    /// Charges the fuel a finished evaluation used.
    pub fn charge(&mut self, state: &State<'_, '_>, file: &str) -> Result<(), Error> {
        let used = state.fuel_levels().map_or(0, |(consumed, _)| consumed);
        self.fuel_used = self.fuel_used.saturating_add(used);
        if self.fuel_used > self.limits.fuel {
            return Err(self.out_of_fuel().in_file(file, None));
        }
        Ok(())
    }

    /// Charges bytes added to the output (files and derived values).
    pub fn charge_bytes(&mut self, bytes: usize, file: &str) -> Result<(), Error> {
        self.bytes_used = self.bytes_used.saturating_add(bytes as u64);
        if self.bytes_used > self.limits.output_bytes {
            return Err(self.too_much_output().in_file(file, None));
        }
        Ok(())
    }

    /// A writer to `out` that fails once the output would pass the limit.
    pub fn writer<'a, W: io::Write>(&'a mut self, out: &'a mut W) -> BudgetedWriter<'a, W> {
        BudgetedWriter { budget: self, out }
    }

    /// The limit error behind a minijinja error, if it is one (out of fuel, or output too large).
    pub fn limit_error(&self, err: &minijinja::Error) -> Option<Error> {
        let mut cause = Some(err);
        while let Some(err) = cause {
            match err.kind() {
                minijinja::ErrorKind::OutOfFuel => return Some(self.out_of_fuel()),
                minijinja::ErrorKind::WriteFailure if self.output_exceeded => return Some(self.too_much_output()),
                _ => {}
            }
            cause = std::error::Error::source(err).and_then(|s| s.downcast_ref::<minijinja::Error>());
        }
        None
    }

    fn out_of_fuel(&self) -> Error {
        Error::new(
            ErrorKind::Limit,
            format!(
                "the render needs more work than its limit of {} fuel (limits.fuel in {})",
                self.limits.fuel,
                crate::MANIFEST_FILE
            ),
        )
    }

    fn too_much_output(&self) -> Error {
        Error::new(
            ErrorKind::Limit,
            format!(
                "the render produces more than its limit of {} bytes (limits.outputBytes in {})",
                self.limits.output_bytes,
                crate::MANIFEST_FILE
            ),
        )
    }
}

pub(crate) struct BudgetedWriter<'a, W> {
    budget: &'a mut Budget,
    out: &'a mut W,
}

impl<W: io::Write> io::Write for BudgetedWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let budget = &mut *self.budget;
        budget.bytes_used = budget.bytes_used.saturating_add(buf.len() as u64);
        if budget.bytes_used > budget.limits.output_bytes {
            budget.output_exceeded = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.out.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Budget {
    /// A derived value as JSON, charged to the output as its JSON text. The text is counted first,
    /// and counting stops as soon as it would pass the limit, so a huge (or lazily repeated) value
    /// is never materialised; it is not kept (converting the value directly is cheaper than
    /// parsing it back).
    pub fn charge_json(&mut self, value: &minijinja::Value, what: &str) -> Result<serde_json::Value, Error> {
        let counted = serde_json::to_writer(self.writer(&mut io::sink()), value);
        if self.output_exceeded {
            return Err(self.too_much_output().in_file(crate::MANIFEST_FILE, None));
        }
        counted
            .and_then(|()| serde_json::to_value(value))
            .map_err(|e| Error::manifest(format!("{what}: {e}")))
    }
}
