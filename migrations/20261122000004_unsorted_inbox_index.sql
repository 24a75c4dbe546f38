-- The kanban's "Неразобранное" column: a pipeline's unsorted leads, newest activity first.
create index leads_unsorted_board_idx on leads (pipeline_id, updated_at desc, id desc) where unsorted;
