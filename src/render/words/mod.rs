//! Sentences, made once per fact: every rendering (text, Markdown, HTML, e-mail, Slack,
//! JSON) takes its words from here.

pub mod access;
pub mod backend_run;
pub mod cause;
pub mod change;
pub mod diagnosis;
pub mod limits;
pub mod remedy;
pub mod route_health;
