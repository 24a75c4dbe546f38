pub mod bell;
pub mod charts;
pub mod empty;
pub mod forms;
pub mod live;
pub mod pager;
pub mod shell;
pub mod token_scopes;
