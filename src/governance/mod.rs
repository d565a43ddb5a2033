//! Memory governance: every change of knowledge is a transaction that can be inspected, undone
//! and audited.
//!
//! - [`edit`]: assert, correct (retract + assert in one transaction) and retract facts; retract
//!   documents; merge and rename entities. Every edit records actor and reason.
//! - [`history`]: `revert` (a new transaction that exactly undoes one), `rollback` (undo
//!   everything after a transaction), `diff` between two transactions.
//! - [`erase`]: physical removal for privacy requests, with a tombstone in the audit log.
//!
//! Functions here build [`WriteSet`](crate::store::WriteSet)s against one namespace's store;
//! the engine runs them under the namespace's writer lock, commits, and updates the indexes.
//! **Architecture invariant:** nothing is deleted except by `erase`; undoing writes new versions.

pub mod edit;
pub mod erase;
pub mod history;
