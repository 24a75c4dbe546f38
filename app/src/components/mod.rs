pub mod bell;
pub mod forms;
pub mod live;
pub mod pager;
pub mod shell;
