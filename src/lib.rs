//! papercast: announces Graphcore Research "Papers of the Month" posts as threads.
//!
//! The pipeline follows the data: [`source`] fetches a post page, [`extract`] turns it
//! into an [`Announcement`], [`compose`] renders one [`compose::Thread`] per platform and
//! fits every post to that platform's length rules, and [`publish`] posts each account's
//! thread exactly once, recording every step in the [`store`]. [`replies`] collects the
//! replies to those threads, and [`discuss`] turns them into each post's published
//! discussion. Pure steps (extract, compose, planning, attribution) do no I/O;
//! fetching, storing and posting live at the edges.

pub mod announcement;
pub mod compose;
pub mod config;
pub mod discuss;
pub mod extract;
pub mod platform;
pub mod publish;
pub mod replies;
pub mod source;
pub mod store;
pub mod web;

pub use announcement::{Announcement, Figure, Paper};
