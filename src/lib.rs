//! papercast: announces Graphcore Research "Papers of the Month" posts as threads.
//!
//! The pipeline follows the data: [`source`] fetches a post page, [`extract`] turns it
//! into an [`Announcement`], [`compose`] renders one [`compose::Thread`] per platform and
//! fits every post to that platform's length rules, and [`publish`] posts each account's
//! thread exactly once, recording every step in the [`store`]. [`replies`] collects the
//! replies to those threads, and [`discuss`] turns them into each post's published
//! discussion. Pure steps (extract, compose, planning, attribution) do no I/O;
//! fetching, storing and posting live at the edges.
//!
//! Between composing and posting sits the review [`queue`]: each new post becomes a
//! draft per account that a moderator approves, schedules, edits or rejects (or that
//! goes out at once where an account needs no review). [`app`] wires the steps to
//! their edges: the feed watcher, posting a draft, and the `papercast run` daemon.

pub mod app;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod discuss;
pub mod extract;
pub mod http;
pub mod model;
pub mod notify;
pub mod platform;
pub mod publish;
pub mod queue;
pub mod replies;
pub mod source;
pub mod store;
pub mod web;

pub use model::{Announcement, Figure, Link, Paper};
