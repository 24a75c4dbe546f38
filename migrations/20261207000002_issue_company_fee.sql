-- What the bank pays the company for a loan it issued (the company's own
-- commission income): optional, recorded with the issue.
alter table deal_issues add column company_fee_kopecks bigint;
alter table deal_issues add constraint deal_issues_fee_check check (company_fee_kopecks is null or company_fee_kopecks >= 0);
