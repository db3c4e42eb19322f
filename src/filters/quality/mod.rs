//! Heuristic quality filters: they measure a property of the text that low
//! quality records tend to have (nothing to learn, too short, too long, …).

pub mod char_length;
pub mod classifier;
pub mod empty_response;
