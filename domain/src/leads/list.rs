use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::fields::is_field_key;
use super::filter::{resolve_custom, LeadFilter, LeadSort, ResolvedCondition, SortColumn};
use super::{LeadSummary, LeadsError};
use crate::rbac::{self, LeadOp, Operation, Target};
use crate::types::{Money, Scope};
use crate::{Actor, Page};

/// (phone LIKE, name/email LIKE) for a quick-search string.
/// Phones are stored as +7XXXXXXXXXX: the last ten digits typed find them.
pub(crate) fn search_patterns(query: &str) -> (Option<String>, Option<String>) {
    let q = query.trim().to_lowercase();
    let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
    // Typed like a phone («916», «+7 (916) 12»): a phone search from three
    // digits; five digits or more inside other text count as a phone too.
    let phone_typed = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    // Phones are stored as +7XXXXXXXXXX: the last ten digits of what was typed find them.
    let phone_like = if digits.len() >= 5 || (phone_typed && digits.len() >= 3) {
        let tail = if digits.len() > 10 {
            &digits[digits.len() - 10..]
        } else {
            &digits[..]
        };
        Some(format!("%{tail}%"))
    } else {
        None
    };
    let text_like = if !q.is_empty() && phone_like.is_none() {
        Some(format!("%{}%", q.replace('%', "\\%").replace('_', "\\_")))
    } else {
        None
    };
    (phone_like, text_like)
}

/// The quick search's column and LIKE pattern. `leads.search` holds the
/// client's name, phones and emails (kept by triggers, see migration
/// lead_search) under one trigram index; three digits typed as a phone match
/// a few percent of all leads, so they always walk the list, over the
/// narrower digits-only copy (migration lead_search_digits).
fn quick_search(query: &str) -> Option<(&'static str, String)> {
    match search_patterns(query) {
        (Some(phone), _) if phone.len() == "%916%".len() => Some(("search_digits", phone)),
        (Some(phone), _) => Some(("search", phone)),
        (None, text) => text.map(|t| ("search", t)),
    }
}

/// Counts stop here: a page says "10 000+" rather than scanning a million rows.
pub const COUNT_CAP: i64 = 10_000;
/// A quick search counts to here («1 000+»: refine the search): counting
/// every lead with «916» in a phone would cost more than showing them.
pub const SEARCH_COUNT_CAP: i64 = 1_000;

/// Where the list's total stops for this filter (`total` is at most one more).
pub fn count_cap(f: &LeadFilter) -> i64 {
    if f.query.trim().is_empty() {
        COUNT_CAP
    } else {
        SEARCH_COUNT_CAP
    }
}

/// Leads the actor may see (leads:view; own / team / all), filtered,
/// sorted and paginated on the server. Two steps keep it fast at a million
/// leads: the ids of the page come from an index-friendly query (its ORDER
/// BY is chosen from a fixed list, hence built with `QueryBuilder`), then
/// the 50 rows are read by id; the total is counted up to `count_cap + 1`
/// (for a quick search, by the same walk that finds the page).
pub async fn list_leads(pool: &PgPool, actor: &Actor, f: LeadFilter) -> Result<Page<LeadSummary>, LeadsError> {
    let scope = rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    let custom = custom_conditions(pool, &f).await?;
    let per_page = if f.per_page <= 0 { 50 } else { f.per_page.min(200) };
    // Far past any real list, and the offset can't overflow.
    let page = f.page.clamp(1, 10_000_000);

    let mut ids_q = QueryBuilder::<Postgres>::new("select l.id from leads l");
    if matches!(f.sort, LeadSort::ClientAsc | LeadSort::ClientDesc) {
        ids_q.push(" join clients c on c.id = l.client_id");
    }
    ids_q.push(sort_join(&f.sort));
    push_filters(&mut ids_q, actor, scope, &f, &custom);
    ids_q.push(order_by(&f.sort));
    let cap = count_cap(&f);
    let (ids, total) = if !f.query.trim().is_empty() && page * per_page <= cap + 1 {
        // A quick search's page lies within its capped count: one walk
        // gives both (the ids of the first `cap + 1` hits, in order).
        ids_q.push(" limit ").push_bind(cap + 1);
        let hits: Vec<Uuid> = ids_q.build_query_scalar().fetch_all(pool).await?;
        let total = hits.len() as i64;
        let skip = ((page - 1) * per_page) as usize;
        (hits.into_iter().skip(skip).take(per_page as usize).collect(), total)
    } else {
        ids_q
            .push(" limit ")
            .push_bind(per_page)
            .push(" offset ")
            .push_bind((page - 1) * per_page);
        let ids: Vec<Uuid> = ids_q.build_query_scalar().fetch_all(pool).await?;
        let mut count_q = QueryBuilder::<Postgres>::new("select count(*) from (select 1 from leads l");
        push_filters(&mut count_q, actor, scope, &f, &custom);
        count_q.push(" limit ").push_bind(cap + 1).push(") x");
        (ids, count_q.build_query_scalar().fetch_one(pool).await?)
    };

    Ok(Page {
        items: rows_as_seen(pool, actor, &ids).await?,
        total,
        page,
        per_page,
    })
}

/// The ids of the leads the list with filter `f` shows the actor, in its
/// order, at most `cap` (acting on «everything this filter matches»).
pub async fn matching_ids(pool: &PgPool, actor: &Actor, f: &LeadFilter, cap: i64) -> Result<Vec<Uuid>, LeadsError> {
    let scope = rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    let custom = custom_conditions(pool, f).await?;
    let mut q = QueryBuilder::<Postgres>::new("select l.id from leads l");
    if matches!(f.sort, LeadSort::ClientAsc | LeadSort::ClientDesc) {
        q.push(" join clients c on c.id = l.client_id");
    }
    q.push(sort_join(&f.sort));
    push_filters(&mut q, actor, scope, f, &custom);
    q.push(order_by(&f.sort));
    q.push(" limit ").push_bind(cap);
    Ok(q.build_query_scalar().fetch_all(pool).await?)
}

/// The rows among `ids` that the list with filter `f` shows now, for a page
/// that patches the rows it holds instead of reloading: an id missing from
/// the answer left the list (deleted, moved out of the filter, out of reach).
pub async fn list_rows(
    pool: &PgPool,
    actor: &Actor,
    f: &LeadFilter,
    ids: &[Uuid],
) -> Result<Vec<LeadSummary>, LeadsError> {
    let scope = rbac::authorize(pool, actor, Operation::Leads(LeadOp::List), Target::Collection).await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let custom = custom_conditions(pool, f).await?;
    let mut q = QueryBuilder::<Postgres>::new("select l.id from leads l");
    push_filters(&mut q, actor, scope, f, &custom);
    q.push(" and l.id = any(").push_bind(ids.to_vec()).push(")");
    let ids: Vec<Uuid> = q.build_query_scalar().fetch_all(pool).await?;
    rows_as_seen(pool, actor, &ids).await
}

/// The filter's extra-field conditions (the fields are read only when it has some).
pub(crate) async fn custom_conditions(pool: &PgPool, f: &LeadFilter) -> Result<Vec<ResolvedCondition>, LeadsError> {
    if f.custom.is_empty() {
        return Ok(vec![]);
    }
    resolve_custom(&super::fields::custom_fields(pool).await?, f)
}

/// The rows of `ids`, in that order, with personal data masked for an
/// actor who may not see it.
async fn rows_as_seen(pool: &PgPool, actor: &Actor, ids: &[Uuid]) -> Result<Vec<LeadSummary>, LeadsError> {
    let items = summaries_by_ids(pool, ids).await?;
    Ok(if super::masks_personal_data(pool, actor).await? {
        items.into_iter().map(LeadSummary::masked).collect()
    } else {
        items
    })
}

/// The join a name sort needs (alias `srt`, column `v`); empty for the others.
pub(crate) fn sort_join(sort: &LeadSort) -> &'static str {
    let LeadSort::Named { column, .. } = sort else {
        return "";
    };
    match column {
        SortColumn::Product => " left join lateral (select name as v from dictionary_items where id = l.product_id) srt on true",
        SortColumn::Source => " left join lateral (select name as v from dictionary_items where id = l.source_id) srt on true",
        SortColumn::Method => " left join lateral (select name as v from dictionary_items where id = l.method_id) srt on true",
        SortColumn::Status => " left join lateral (select name as v from dictionary_items where id = l.status_id) srt on true",
        SortColumn::Stage => " left join lateral (select s.position::text as v from stages s where s.id = l.stage_id) srt on true",
        SortColumn::Responsible => " left join lateral (select full_name as v from users where id = l.responsible_id) srt on true",
        SortColumn::Partner => " left join lateral (select full_name as v from users where id = l.partner_id) srt on true",
        SortColumn::Phone => " left join lateral (select phone as v from client_phones where client_id = l.client_id order by position, phone limit 1) srt on true",
        SortColumn::Email => " left join lateral (select email as v from client_emails where client_id = l.client_id order by position, email limit 1) srt on true",
    }
}

/// The ORDER BY of a sort (an extra field's key is checked by `LeadSort::parse`).
pub(crate) fn order_by(sort: &LeadSort) -> String {
    match sort {
        LeadSort::CreatedDesc => " order by l.created_at desc, l.id desc".into(),
        LeadSort::CreatedAsc => " order by l.created_at asc, l.id asc".into(),
        LeadSort::NumberDesc => " order by l.number desc".into(),
        LeadSort::NumberAsc => " order by l.number asc".into(),
        LeadSort::AmountDesc => " order by l.amount_kopecks desc nulls last, l.id desc".into(),
        LeadSort::AmountAsc => " order by l.amount_kopecks asc nulls last, l.id asc".into(),
        LeadSort::UpdatedDesc => " order by l.updated_at desc, l.id desc".into(),
        LeadSort::UpdatedAsc => " order by l.updated_at asc, l.id asc".into(),
        LeadSort::ClientAsc => " order by c.full_name asc, l.id asc".into(),
        LeadSort::ClientDesc => " order by c.full_name desc, l.id desc".into(),
        LeadSort::Custom { key, desc } if is_field_key(key) => {
            let dir = if *desc { "desc" } else { "asc" };
            format!(" order by l.extra -> '{key}' {dir} nulls last, l.id {dir}")
        }
        LeadSort::Custom { .. } => " order by l.created_at desc, l.id desc".into(),
        LeadSort::Named { column, desc } => {
            let dir = if *desc { "desc" } else { "asc" };
            // Stage positions sort as numbers, names as text.
            let v = if *column == SortColumn::Stage {
                "srt.v::int"
            } else {
                "srt.v"
            };
            format!(" order by {v} {dir} nulls last, l.id {dir}")
        }
    }
}

/// The view model of the given leads, in the order of `ids`.
pub(crate) async fn summaries_by_ids(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<LeadSummary>, LeadsError> {
    let rows = sqlx::query!(
        r#"select l.id, l.number, l.client_id, c.full_name as client_name,
                  (select phone from client_phones p where p.client_id = c.id order by position, phone limit 1) as phone,
                  (select email from client_emails e where e.client_id = c.id order by position, email limit 1) as email,
                  pr.name as "product?", l.amount_kopecks, so.name as "source?", me.name as "method?", st.name as "status?",
                  l.pipeline_id, l.stage_id, sg.name as "stage_name?", sg.color as "stage_color?", l.unsorted,
                  ru.full_name as "responsible_name?", pu.full_name as "partner_name?", l.tags, l.extra,
                  l.created_at as "created_at: DateTime<Utc>", l.updated_at as "updated_at: DateTime<Utc>"
           from leads l
           join clients c on c.id = l.client_id
           left join dictionary_items pr on pr.id = l.product_id
           left join dictionary_items so on so.id = l.source_id
           left join dictionary_items me on me.id = l.method_id
           left join dictionary_items st on st.id = l.status_id
           left join stages sg on sg.id = l.stage_id
           left join users ru on ru.id = l.responsible_id
           left join users pu on pu.id = l.partner_id
           where l.id = any($1)"#,
        ids
    )
    .fetch_all(pool)
    .await?;
    let mut by_id: std::collections::HashMap<Uuid, LeadSummary> = rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                LeadSummary {
                    id: r.id,
                    number: r.number,
                    client_id: r.client_id,
                    client_name: r.client_name,
                    phone: r.phone,
                    email: r.email,
                    product: r.product,
                    amount: r.amount_kopecks.map(Money::from_kopecks),
                    source: r.source,
                    method: r.method,
                    status: r.status,
                    pipeline_id: r.pipeline_id,
                    stage_id: r.stage_id,
                    stage_name: r.stage_name,
                    stage_color: r.stage_color,
                    unsorted: r.unsorted,
                    responsible_name: r.responsible_name,
                    partner_name: r.partner_name,
                    tags: r.tags,
                    extra: r.extra,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The WHERE clause shared by the page and its count: scope, quick search
/// and every filter, all as bound parameters.
pub(crate) fn push_filters(
    q: &mut QueryBuilder<'_, Postgres>,
    actor: &Actor,
    scope: Scope,
    f: &LeadFilter,
    custom: &[ResolvedCondition],
) {
    push_filters_part(q, actor, scope, None, f, custom)
}

/// The columns that name a lead's people: any of them is the lead's owner.
const OWNER_COLUMNS: [&str; 4] = ["partner_id", "responsible_id", "franchisee_id", "created_by"];

/// How many disjoint parts [`push_filters_part`] cuts `scope` into: one for
/// every lead; per owner column for one's own leads, and the team's for a
/// team scope.
pub(crate) fn scope_parts(scope: Scope) -> usize {
    match scope {
        Scope::All => 1,
        Scope::Team => OWNER_COLUMNS.len() + 1,
        Scope::Own | Scope::None => OWNER_COLUMNS.len(),
    }
}

/// [`push_filters`] for one part of the scope (`None`: all of it). Part
/// `i` holds the leads whose `i`-th owner column is the reader and no
/// earlier one is; the team's part those of the team with none of them
/// the reader — so the parts, joined, are the scope, each lead once, and
/// each is one equality an index answers (a report reads a partner's part
/// from a covering index alone, where an `in (…)` over four columns reads
/// the table).
pub(crate) fn push_filters_part(
    q: &mut QueryBuilder<'_, Postgres>,
    actor: &Actor,
    scope: Scope,
    part: Option<usize>,
    f: &LeadFilter,
    custom: &[ResolvedCondition],
) {
    q.push(" where l.deleted_at is null");
    let team = actor.team_id.unwrap_or(Uuid::nil());
    match (scope, part) {
        (Scope::All, _) => {}
        (_, Some(i)) => {
            let before = &OWNER_COLUMNS[..i.min(OWNER_COLUMNS.len())];
            match OWNER_COLUMNS.get(i) {
                Some(col) => {
                    q.push(format!(" and l.{col} = ")).push_bind(actor.user_id);
                }
                None => {
                    q.push(" and l.team_id = ").push_bind(team);
                }
            }
            for col in before {
                q.push(format!(" and l.{col} is distinct from "))
                    .push_bind(actor.user_id);
            }
        }
        (Scope::Team, None) => {
            q.push(" and (")
                .push_bind(actor.user_id)
                .push(" in (l.responsible_id, l.partner_id, l.franchisee_id, l.created_by)");
            q.push(" or l.team_id = ").push_bind(team).push(")");
        }
        (Scope::Own | Scope::None, None) => {
            q.push(" and ")
                .push_bind(actor.user_id)
                .push(" in (l.responsible_id, l.partner_id, l.franchisee_id, l.created_by)");
        }
    }
    if let Some((column, pattern)) = quick_search(&f.query) {
        q.push(format!(" and l.{column} like ")).push_bind(pattern);
    }
    let mut eq = |col: &str, v: Option<Uuid>| {
        if let Some(v) = v {
            q.push(format!(" and l.{col} = ")).push_bind(v);
        }
    };
    eq("pipeline_id", f.pipeline_id);
    eq("stage_id", f.stage_id);
    eq("product_id", f.product_id);
    eq("source_id", f.source_id);
    eq("method_id", f.method_id);
    eq("status_id", f.status_id);
    eq("responsible_id", f.responsible_id);
    eq("partner_id", f.partner_id);
    eq("team_id", f.team_id);
    for col in &f.missing {
        q.push(format!(" and l.{} is null", col.column()));
    }
    if let Some(city) = &f.city {
        q.push(" and exists (select 1 from clients cc where cc.id = l.client_id and lower(cc.city) = lower(")
            .push_bind(city.clone())
            .push("))");
    }
    if let Some(stage) = f.reached {
        // The stage's pipeline and position; an unknown stage matches nothing.
        q.push(" and exists (select 1 from stages rs where rs.id = ")
            .push_bind(stage)
            .push(" and rs.kind <> 'lost' and rs.pipeline_id = l.pipeline_id and l.reached_position >= rs.position)");
    }
    if let Some(t) = f.closed_from {
        q.push(" and l.closed_at >= ").push_bind(t);
    }
    if let Some(t) = f.closed_to {
        q.push(" and l.closed_at < ").push_bind(t);
    }
    if let Some(tag) = &f.tag {
        q.push(" and l.tags @> array[").push_bind(tag.clone()).push("]::text[]");
    }
    if let Some(u) = f.unsorted {
        q.push(" and l.unsorted = ").push_bind(u);
    }
    if let Some(m) = f.amount_from {
        q.push(" and l.amount_kopecks >= ").push_bind(m.kopecks());
    }
    if let Some(m) = f.amount_to {
        q.push(" and l.amount_kopecks <= ").push_bind(m.kopecks());
    }
    if let Some(t) = f.created_from {
        q.push(" and l.created_at >= ").push_bind(t);
    }
    if let Some(t) = f.created_to {
        q.push(" and l.created_at < ").push_bind(t);
    }
    // Extra fields: `extra -> 'cf_N'` matches the field's B-tree index.
    for c in custom {
        if !is_field_key(&c.key) {
            continue;
        }
        let col = format!(" and l.extra -> '{}'", c.key);
        if let Some(v) = &c.equals {
            q.push(format!("{col} = ")).push_bind(v.clone());
        }
        if let Some(v) = &c.from {
            q.push(format!("{col} >= ")).push_bind(v.clone());
        }
        if let Some(v) = &c.to {
            q.push(format!("{col} <= ")).push_bind(v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{count_cap, quick_search, search_patterns, COUNT_CAP, SEARCH_COUNT_CAP};
    use crate::leads::LeadFilter;

    #[test]
    fn a_search_counts_to_a_thousand_and_a_plain_list_to_ten_thousand() {
        let plain = LeadFilter::from_query("stage_id=").unwrap_or_default();
        assert_eq!(count_cap(&plain), COUNT_CAP);
        let search = LeadFilter::from_query("q=916").unwrap();
        assert_eq!(count_cap(&search), SEARCH_COUNT_CAP);
    }

    #[test]
    fn three_digits_typed_alone_search_phones_and_names_stay_names() {
        assert_eq!(search_patterns("916").0.as_deref(), Some("%916%"));
        assert_eq!(search_patterns("+7 (916) 1").0.as_deref(), Some("%79161%"));
        assert_eq!(search_patterns("8 916 123-45-67").0.as_deref(), Some("%9161234567%"));
        assert_eq!(search_patterns("91").0, None, "two digits are too few");
        let (phone, text) = search_patterns("Иванов 91");
        assert_eq!((phone, text.as_deref()), (None, Some("%иванов 91%")));
    }

    #[test]
    fn only_three_digits_walk_the_digits_index() {
        assert_eq!(quick_search("916"), Some(("search_digits", "%916%".into())));
        assert_eq!(quick_search("9161"), Some(("search", "%9161%".into())));
        assert_eq!(quick_search("ива"), Some(("search", "%ива%".into())));
        assert_eq!(quick_search("91"), Some(("search", "%91%".into())));
    }
}
