//! Keeping an open list or board true without reloading it: which changes
//! can be patched row by row ([`plan`]) and how re-read rows land on a board
//! ([`apply_to_board`]). Pure functions, so the rules are unit-tested.

use crate::components::live::topic;
use crate::pages::leads::model::{BoardView, LeadRow};

/// What an open list or board does with a batch of changed topics.
#[derive(Debug, PartialEq)]
pub(super) enum Plan {
    Nothing,
    /// Load it again (new leads, lost events, rows not shown).
    Reload,
    /// Re-read these shown rows only.
    Patch(Vec<String>),
}

/// A change to leads the page shows is patched row by row; anything else
/// that may change it (a lead not shown may have entered it) reloads it.
pub(super) fn plan(topics: &[String], shown: Option<&[String]>) -> Plan {
    let mut ids = vec![];
    let mut leads_changed = false;
    for t in topics {
        match t.as_str() {
            "*" | "lead:*" | "leads:*" => return Plan::Reload,
            topic::LEADS => leads_changed = true,
            other => {
                if let Some(id) = other.strip_prefix("lead:") {
                    ids.push(id.to_string());
                }
            }
        }
    }
    if ids.is_empty() {
        return if leads_changed { Plan::Reload } else { Plan::Nothing };
    }
    match shown {
        Some(shown) if ids.iter().all(|id| shown.contains(id)) => Plan::Patch(ids),
        _ => Plan::Reload,
    }
}

/// The ids of the cards a board shows.
pub(super) fn board_ids(board: &BoardView) -> Vec<String> {
    board
        .columns
        .iter()
        .flat_map(|c| c.cards.iter().map(|r| r.id.clone()))
        .collect()
}

/// The board with the rows re-read since it loaded, in the order they were
/// read (`None`: the lead left the board — deleted, another pipeline, out of
/// reach). A card that stays in its column is replaced where it is; one that
/// moved leaves its column and tops the new one (the board shows the most
/// recently updated first); the columns' totals follow.
pub(super) fn apply_to_board(mut board: BoardView, patches: &[(String, Option<LeadRow>)]) -> BoardView {
    for (id, row) in patches {
        let from = board
            .columns
            .iter()
            .enumerate()
            .find_map(|(c, col)| col.cards.iter().position(|r| &r.id == id).map(|i| (c, i)));
        let to = row.as_ref().and_then(|r| {
            let stage = if r.unsorted { "" } else { r.stage_id.as_str() };
            board.columns.iter().position(|c| c.stage_id == stage)
        });
        match (from, to, row) {
            (Some((c, i)), Some(t), Some(r)) if c == t => board.columns[c].cards[i] = r.clone(),
            _ => {
                if let Some((c, i)) = from {
                    board.columns[c].cards.remove(i);
                    board.columns[c].total -= 1;
                }
                if let (Some(t), Some(r)) = (to, row) {
                    board.columns[t].cards.insert(0, r.clone());
                    board.columns[t].total += 1;
                }
            }
        }
    }
    board
}

#[cfg(test)]
mod tests {
    use super::{apply_to_board, board_ids, plan, Plan};
    use crate::pages::leads::model::{BoardColumnView, BoardView, LeadRow};

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn changes_to_rows_on_the_page_are_patched_and_anything_else_reloads() {
        let shown = v(&["a", "b", "c"]);
        let shown = Some(shown.as_slice());
        assert_eq!(
            plan(&v(&["leads", "lead:a", "lead:c"]), shown),
            Plan::Patch(v(&["a", "c"]))
        );
        // A lead not on the page (a new one, or one entering the filter).
        assert_eq!(plan(&v(&["leads", "lead:a", "lead:z"]), shown), Plan::Reload);
        // Too many keys for one batch, or events lost.
        assert_eq!(plan(&v(&["leads", "lead:*"]), shown), Plan::Reload);
        assert_eq!(plan(&v(&["*"]), shown), Plan::Reload);
        assert_eq!(plan(&v(&["leads"]), shown), Plan::Reload);
        // Nothing about leads.
        assert_eq!(plan(&v(&["bell", "chat:x:1"]), shown), Plan::Nothing);
        // The page is still loading.
        assert_eq!(plan(&v(&["leads", "lead:a"]), None), Plan::Reload);
    }

    fn card(id: &str, stage: &str, amount: &str) -> LeadRow {
        LeadRow {
            id: id.into(),
            number: 0,
            client_id: String::new(),
            client_name: String::new(),
            phone: String::new(),
            email: String::new(),
            product: String::new(),
            amount: amount.into(),
            source: String::new(),
            status: String::new(),
            stage_id: stage.into(),
            stage_name: String::new(),
            stage_color: String::new(),
            unsorted: stage.is_empty(),
            responsible: String::new(),
            partner: String::new(),
            method: String::new(),
            tags: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
            extra: vec![],
        }
    }

    fn board() -> BoardView {
        let column = |stage: &str, total: i64, cards: Vec<LeadRow>| BoardColumnView {
            stage_id: stage.into(),
            name: stage.into(),
            color: String::new(),
            total,
            cards,
        };
        BoardView {
            pipeline_id: "p".into(),
            pipeline_name: "Продажи".into(),
            columns: vec![
                column("", 1, vec![card("u", "", "")]),
                column("s1", 7, vec![card("a", "s1", "1"), card("b", "s1", "2")]),
                column("s2", 3, vec![card("c", "s2", "3")]),
            ],
        }
    }

    fn column_of(b: &BoardView, stage: &str) -> (Vec<String>, i64) {
        let c = b.columns.iter().find(|c| c.stage_id == stage).unwrap();
        (c.cards.iter().map(|r| r.id.clone()).collect(), c.total)
    }

    #[test]
    fn an_edited_card_stays_in_place_and_a_moved_one_tops_its_new_column() {
        let b = apply_to_board(board(), &[("b".into(), Some(card("b", "s1", "20")))]);
        assert_eq!(column_of(&b, "s1"), (v(&["a", "b"]), 7));
        assert_eq!(b.columns[1].cards[1].amount, "20");

        let b = apply_to_board(board(), &[("b".into(), Some(card("b", "s2", "2")))]);
        assert_eq!(column_of(&b, "s1"), (v(&["a"]), 6));
        assert_eq!(column_of(&b, "s2"), (v(&["b", "c"]), 4));

        // Sorted out of the inbox into a stage.
        let b = apply_to_board(board(), &[("u".into(), Some(card("u", "s2", "")))]);
        assert_eq!(column_of(&b, ""), (vec![], 0));
        assert_eq!(column_of(&b, "s2"), (v(&["u", "c"]), 4));
    }

    #[test]
    fn a_card_that_left_the_board_drops_out_and_patches_apply_in_order() {
        // Deleted, or moved to another pipeline's stage.
        let b = apply_to_board(board(), &[("a".into(), None), ("c".into(), Some(card("c", "x9", "3")))]);
        assert_eq!(column_of(&b, "s1"), (v(&["b"]), 6));
        assert_eq!(column_of(&b, "s2"), (vec![], 2));
        assert_eq!(board_ids(&b), v(&["u", "b"]));

        // Moved twice before the board reloaded: the later read wins.
        let b = apply_to_board(
            board(),
            &[
                ("a".into(), Some(card("a", "s2", "1"))),
                ("c".into(), Some(card("c", "s1", "3"))),
                ("a".into(), Some(card("a", "s1", "1"))),
            ],
        );
        assert_eq!(column_of(&b, "s1"), (v(&["a", "c", "b"]), 8));
        assert_eq!(column_of(&b, "s2"), (vec![], 2));
    }
}
