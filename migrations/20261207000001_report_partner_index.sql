-- A partner's report and funnel read the partner's leads from this index
-- alone (an index-only scan): the columns a report cuts and measures by,
-- included. Without it, their leads — spread over the whole table — cost a
-- read of nearly every page (~150 ms at 50,000 of 1,000,000 leads).
create index leads_partner_report_idx on leads (partner_id)
    include (created_day, closed_day, created_at, closed_at, source_id, product_id, method_id, status_id,
             stage_id, pipeline_id, responsible_id, franchisee_id, team_id, created_by, loss_reason_id,
             amount_kopecks, reached_position)
    where deleted_at is null and partner_id is not null;

-- The last part of a scope (leads one created and owns no other way) by
-- an index, not a scan.
create index leads_created_by_idx on leads (created_by) where deleted_at is null;
