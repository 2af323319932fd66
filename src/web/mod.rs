//! The moderators' web page, the publish hook and the discussion endpoints.

pub mod auth;
