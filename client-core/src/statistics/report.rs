//! Report 06a and the late-dossier report, from [`DossierFacts`].
//!
//! [`classify`] places one dossier in its columns for a period; a
//! [`Report06a`] adds the classified dossiers up — in total, by unit, by
//! field and by clerk — and keeps every one of them, so each figure drills
//! down to exactly the dossiers it counts ([`Report06a::drill_down`]): the
//! figures and the lists come from the same [`Column::contains`].

use std::collections::{BTreeMap, HashMap};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::{DossierFacts, Period};
use crate::calendar::WorkingCalendar;
use crate::deadline::{DeadlineError, Timeliness};
use crate::dossier::Channel;
use crate::stage::{Course, Outcome, Stage};
use crate::time;

/// How a counted dossier came into the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intake {
    /// Received before the period, still open at its start.
    CarriedOver,
    /// Received during the period, online.
    NewOnline,
    /// Received during the period at the counter or by post.
    NewDirectOrPostal,
}

/// Where a counted dossier stood at the period's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Resolved during the period before its appointment date.
    Early,
    /// Resolved during the period on its appointment date.
    OnTime,
    /// Resolved during the period after its appointment date.
    Late,
    Refused,
    Withdrawn,
    /// Open, appointment date not passed or clock stopped.
    WithinDeadline,
    /// Open, appointment date passed, clock running.
    Overdue,
    /// Open, waiting for the citizen's tax or fee.
    AwaitingPayment,
}

impl From<Timeliness> for Disposition {
    fn from(t: Timeliness) -> Self {
        match t {
            Timeliness::Early => Disposition::Early,
            Timeliness::OnTime => Disposition::OnTime,
            Timeliness::Late => Disposition::Late,
            Timeliness::WithinDeadline => Disposition::WithinDeadline,
            Timeliness::Overdue => Disposition::Overdue,
        }
    }
}

/// One dossier counted in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub facts: &'a DossierFacts,
    pub intake: Intake,
    pub disposition: Disposition,
    /// Waiting for the citizen's supplement at the period's end, clock
    /// stopped (a part of within deadline).
    pub awaiting_supplement: bool,
    /// The appointment after waits (milliseconds), as of when processing
    /// finished, or as of the period's end while open.
    pub due_at: i64,
    /// When processing finished (done, refused, withdrawn), if it had by the
    /// period's end.
    pub finished_at: Option<i64>,
}

/// Places one dossier in the columns of `period`; `None` when the period
/// does not count it (received after it, or closed before it began).
pub fn classify<'a>(
    facts: &'a DossierFacts,
    period: &Period,
    calendar: &WorkingCalendar,
) -> Result<Option<Line<'a>>, DeadlineError> {
    let (start, end) = (period.starts_at(), period.ends_at());
    let received_at = facts.received_at();
    if received_at > end {
        return Ok(None);
    }
    // Nothing recorded for a time after the period's end is known.
    let course = Course::of(&facts.stages, end);
    // Closed before the period began, and not reopened since (a dossier done
    // earlier may be reopened to wait for the citizen's fee).
    let closed_before = Course::of(&facts.stages, start - 1).outcome != Outcome::Open
        && course.outcome.finished_at().is_some_and(|at| at < start);
    if closed_before {
        return Ok(None);
    }
    let intake = if received_at < start {
        Intake::CarriedOver
    } else if facts.channel == Channel::Online {
        Intake::NewOnline
    } else {
        Intake::NewDirectOrPostal
    };
    let finished_at = course.outcome.finished_at();
    let assessment = facts
        .terms
        .assess(calendar, &course.waits, finished_at, end)?;
    let disposition = match course.outcome {
        Outcome::Refused { .. } => Disposition::Refused,
        Outcome::Withdrawn { .. } => Disposition::Withdrawn,
        Outcome::Open if course.current == Some(Stage::AwaitingFee) => Disposition::AwaitingPayment,
        Outcome::Open | Outcome::Resolved { .. } => assessment.timeliness.into(),
    };
    Ok(Some(Line {
        facts,
        intake,
        disposition,
        awaiting_supplement: disposition == Disposition::WithinDeadline
            && course.current == Some(Stage::SupplementRequested),
        due_at: assessment.due.at.timestamp_millis(),
        finished_at,
    }))
}

/// A column of report 06a, in the order of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    /// Carried over + new online + new direct/postal.
    Received,
    CarriedOver,
    NewOnline,
    NewDirectOrPostal,
    /// Early + on time + late.
    Resolved,
    Early,
    OnTime,
    Late,
    Refused,
    Withdrawn,
    /// Within deadline + overdue.
    InProgress,
    WithinDeadline,
    /// A part of within deadline.
    AwaitingSupplement,
    Overdue,
    AwaitingPayment,
}

impl Column {
    pub const COUNT: usize = 15;
    pub const ALL: [Column; Column::COUNT] = [
        Column::Received,
        Column::CarriedOver,
        Column::NewOnline,
        Column::NewDirectOrPostal,
        Column::Resolved,
        Column::Early,
        Column::OnTime,
        Column::Late,
        Column::Refused,
        Column::Withdrawn,
        Column::InProgress,
        Column::WithinDeadline,
        Column::AwaitingSupplement,
        Column::Overdue,
        Column::AwaitingPayment,
    ];

    /// The identifier used in the API and the CLI.
    pub fn key(self) -> &'static str {
        match self {
            Column::Received => "received",
            Column::CarriedOver => "carried_over",
            Column::NewOnline => "new_online",
            Column::NewDirectOrPostal => "new_direct_or_postal",
            Column::Resolved => "resolved",
            Column::Early => "early",
            Column::OnTime => "on_time",
            Column::Late => "late",
            Column::Refused => "refused",
            Column::Withdrawn => "withdrawn",
            Column::InProgress => "in_progress",
            Column::WithinDeadline => "within_deadline",
            Column::AwaitingSupplement => "awaiting_supplement",
            Column::Overdue => "overdue",
            Column::AwaitingPayment => "awaiting_payment",
        }
    }

    pub fn parse(key: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == key.trim())
    }

    /// The heading on the form.
    pub fn name_vi(self) -> &'static str {
        match self {
            Column::Received => "Tổng số hồ sơ tiếp nhận",
            Column::CarriedOver => "Kỳ trước chuyển sang",
            Column::NewOnline => "Mới tiếp nhận trực tuyến",
            Column::NewDirectOrPostal => "Mới tiếp nhận trực tiếp, bưu chính",
            Column::Resolved => "Đã giải quyết: tổng số",
            Column::Early => "Giải quyết trước hạn",
            Column::OnTime => "Giải quyết đúng hạn",
            Column::Late => "Giải quyết quá hạn",
            Column::Refused => "Từ chối giải quyết",
            Column::Withdrawn => "Công dân rút hồ sơ",
            Column::InProgress => "Đang giải quyết: tổng số",
            Column::WithinDeadline => "Đang giải quyết trong hạn",
            Column::AwaitingSupplement => "Trong đó chờ bổ sung",
            Column::Overdue => "Đang giải quyết quá hạn",
            Column::AwaitingPayment => "Chờ thực hiện nghĩa vụ tài chính",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Column::Received => "Received, total",
            Column::CarriedOver => "Carried over",
            Column::NewOnline => "New, online",
            Column::NewDirectOrPostal => "New, direct or postal",
            Column::Resolved => "Resolved, total",
            Column::Early => "Resolved early",
            Column::OnTime => "Resolved on time",
            Column::Late => "Resolved late",
            Column::Refused => "Refused",
            Column::Withdrawn => "Withdrawn",
            Column::InProgress => "In progress, total",
            Column::WithinDeadline => "In progress within deadline",
            Column::AwaitingSupplement => "Of which awaiting supplement",
            Column::Overdue => "In progress, overdue",
            Column::AwaitingPayment => "Awaiting payment",
        }
    }

    /// Whether the column counts `line`: the one rule behind both a figure
    /// and its drill-down list.
    pub fn contains(self, line: &Line<'_>) -> bool {
        use Disposition as D;
        match self {
            Column::Received => true,
            Column::CarriedOver => line.intake == Intake::CarriedOver,
            Column::NewOnline => line.intake == Intake::NewOnline,
            Column::NewDirectOrPostal => line.intake == Intake::NewDirectOrPostal,
            Column::Resolved => matches!(line.disposition, D::Early | D::OnTime | D::Late),
            Column::Early => line.disposition == D::Early,
            Column::OnTime => line.disposition == D::OnTime,
            Column::Late => line.disposition == D::Late,
            Column::Refused => line.disposition == D::Refused,
            Column::Withdrawn => line.disposition == D::Withdrawn,
            Column::InProgress => matches!(line.disposition, D::WithinDeadline | D::Overdue),
            Column::WithinDeadline => line.disposition == D::WithinDeadline,
            Column::AwaitingSupplement => line.awaiting_supplement,
            Column::Overdue => line.disposition == D::Overdue,
            Column::AwaitingPayment => line.disposition == D::AwaitingPayment,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The columns that contain `line`, one bit each by [`Column::ALL`].
    fn mask(line: &Line<'_>) -> u16 {
        Column::ALL
            .iter()
            .filter(|c| c.contains(line))
            .fold(0, |mask, c| mask | 1 << c.index())
    }
}

/// The heading of the on-time rate column.
pub const ON_TIME_RATE_VI: &str = "Tỷ lệ giải quyết đúng hạn (%)";
pub const ON_TIME_RATE_EN: &str = "On-time rate (%)";

/// The figures of one row of the report: a count per column. Serialises as
/// `{ "received": n, …, "on_time_rate": r }`, the rate a fraction or null.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    counts: [u32; Column::COUNT],
}

impl Figures {
    pub fn get(&self, column: Column) -> u32 {
        self.counts[column.index()]
    }

    /// (early + on time) / (early + on time + late); `None` when none of them.
    pub fn on_time_rate(&self) -> Option<f64> {
        let in_time = self.get(Column::Early) + self.get(Column::OnTime);
        let judged = in_time + self.get(Column::Late);
        (judged > 0).then(|| f64::from(in_time) / f64::from(judged))
    }

    /// Counts `line` in every column that contains it.
    pub fn add(&mut self, line: &Line<'_>) {
        self.count(Column::mask(line));
    }

    /// Counts a line in the columns of a [`Column::mask`].
    fn count(&mut self, mask: u16) {
        for (i, count) in self.counts.iter_mut().enumerate() {
            *count += u32::from(mask >> i & 1);
        }
    }

    fn absorb(&mut self, other: &Figures) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }
}

impl Serialize for Figures {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Column::COUNT + 1))?;
        for column in Column::ALL {
            map.serialize_entry(column.key(), &self.get(column))?;
        }
        map.serialize_entry("on_time_rate", &self.on_time_rate())?;
        map.end()
    }
}

/// How the rows of a report are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// One row for everything.
    Total,
    /// By receiving unit (code).
    Unit,
    /// By field (lĩnh vực) id.
    Field,
    /// By receiving clerk (user name).
    Clerk,
}

impl Grouping {
    pub const ALL: [Grouping; 4] = [
        Grouping::Total,
        Grouping::Unit,
        Grouping::Field,
        Grouping::Clerk,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Grouping::Total => "total",
            Grouping::Unit => "unit",
            Grouping::Field => "field",
            Grouping::Clerk => "clerk",
        }
    }

    pub fn parse(key: &str) -> Option<Grouping> {
        Grouping::ALL.into_iter().find(|g| g.key() == key.trim())
    }

    /// The heading of the rows' first column.
    pub fn name_vi(self) -> &'static str {
        match self {
            Grouping::Total => "Tổng cộng",
            Grouping::Unit => "Đơn vị",
            Grouping::Field => "Lĩnh vực",
            Grouping::Clerk => "Cán bộ tiếp nhận",
        }
    }

    /// The row a line belongs to (empty for the total).
    pub fn key_of<'a>(self, line: &Line<'a>) -> &'a str {
        match self {
            Grouping::Total => "",
            Grouping::Unit => line.facts.unit.as_str(),
            Grouping::Field => &line.facts.field,
            Grouping::Clerk => &line.facts.clerk,
        }
    }
}

/// FNV-1a, for maps keyed by the short texts reports group by (unit codes,
/// field ids, user names): several times faster than the default hasher on
/// them. Not for keys an attacker chooses at will; these come from
/// validated documents and the unit tree.
#[derive(Default)]
pub struct KeyHasher(u64);

/// A hash map keyed by report texts, with [`KeyHasher`].
pub type KeyMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<KeyHasher>>;

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type Rows<'a> = KeyMap<&'a str, Figures>;

/// A dossier that could not be placed, with why; it is left out of the
/// figures and listed instead, never dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unclassified {
    pub code: String,
    pub reason: String,
}

/// Report 06a for one period: the figures in total and by unit, field and
/// clerk, and every counted dossier behind them.
#[derive(Debug, Clone)]
pub struct Report06a<'a> {
    period: Period,
    lines: Vec<Line<'a>>,
    unclassified: Vec<Unclassified>,
    total: Figures,
    by_unit: Rows<'a>,
    by_field: Rows<'a>,
    by_clerk: Rows<'a>,
}

impl<'a> Report06a<'a> {
    /// Classifies every dossier for `period` and adds them up. Dossiers the
    /// period does not count are skipped; those whose deadline cannot be
    /// computed are listed in [`Report06a::unclassified`].
    pub fn compute(
        facts: impl IntoIterator<Item = &'a DossierFacts>,
        period: Period,
        calendar: &WorkingCalendar,
    ) -> Report06a<'a> {
        let facts = facts.into_iter();
        let mut report = Report06a {
            period,
            lines: Vec::with_capacity(facts.size_hint().0),
            unclassified: Vec::new(),
            total: Figures::default(),
            by_unit: Rows::default(),
            by_field: Rows::default(),
            by_clerk: Rows::default(),
        };
        for facts in facts {
            match classify(facts, &period, calendar) {
                Ok(Some(line)) => report.add(line),
                Ok(None) => {}
                Err(e) => report.unclassified.push(Unclassified {
                    code: facts.code.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        report
    }

    fn add(&mut self, line: Line<'a>) {
        let mask = Column::mask(&line);
        self.total.count(mask);
        for grouping in [Grouping::Unit, Grouping::Field, Grouping::Clerk] {
            let key = grouping.key_of(&line);
            if let Some(rows) = self.rows_mut(grouping) {
                rows.entry(key).or_default().count(mask);
            }
        }
        self.lines.push(line);
    }

    fn rows_mut(&mut self, grouping: Grouping) -> Option<&mut Rows<'a>> {
        match grouping {
            Grouping::Total => None,
            Grouping::Unit => Some(&mut self.by_unit),
            Grouping::Field => Some(&mut self.by_field),
            Grouping::Clerk => Some(&mut self.by_clerk),
        }
    }

    fn rows_of(&self, grouping: Grouping) -> Option<&Rows<'a>> {
        match grouping {
            Grouping::Total => None,
            Grouping::Unit => Some(&self.by_unit),
            Grouping::Field => Some(&self.by_field),
            Grouping::Clerk => Some(&self.by_clerk),
        }
    }

    /// Adds the dossiers of a report computed over other dossiers for the same
    /// period (a report computed in parts, in parallel, equals the whole).
    ///
    /// # Panics
    /// When the periods differ: figures of different periods do not add.
    pub fn absorb(&mut self, other: Report06a<'a>) {
        assert_eq!(
            self.period, other.period,
            "reports of different periods cannot be added"
        );
        self.total.absorb(&other.total);
        for grouping in [Grouping::Unit, Grouping::Field, Grouping::Clerk] {
            let (Some(mine), Some(theirs)) = (self.rows_mut(grouping), other.rows_of(grouping))
            else {
                continue;
            };
            for (key, figures) in theirs {
                mine.entry(key).or_default().absorb(figures);
            }
        }
        self.lines.extend(other.lines);
        self.unclassified.extend(other.unclassified);
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn total(&self) -> &Figures {
        &self.total
    }

    /// The rows of a grouping, by key; one row with an empty key for the
    /// total.
    pub fn rows(&self, grouping: Grouping) -> Vec<(&'a str, &Figures)> {
        let mut rows: Vec<(&'a str, &Figures)> = match self.rows_of(grouping) {
            None => vec![("", &self.total)],
            Some(rows) => rows.iter().map(|(k, f)| (*k, f)).collect(),
        };
        rows.sort_by(|a, b| a.0.cmp(b.0));
        rows
    }

    /// The figures of one row (`key` is ignored for the total).
    pub fn figures(&self, grouping: Grouping, key: &str) -> Figures {
        match self.rows_of(grouping) {
            None => self.total,
            Some(rows) => rows.get(key).copied().unwrap_or_default(),
        }
    }

    /// Every counted dossier, in the order the facts were given.
    pub fn lines(&self) -> &[Line<'a>] {
        &self.lines
    }

    /// The dossiers behind one figure: those of row `key` of `grouping`
    /// (any key for the total) that `column` counts, by code.
    pub fn drill_down(&self, grouping: Grouping, key: &str, column: Column) -> Vec<&Line<'a>> {
        let mut lines: Vec<&Line<'a>> = self
            .lines
            .iter()
            .filter(|line| grouping == Grouping::Total || grouping.key_of(line) == key)
            .filter(|line| column.contains(line))
            .collect();
        lines.sort_by(|a, b| a.facts.code.cmp(&b.facts.code));
        lines
    }

    /// Dossiers whose deadline could not be computed.
    pub fn unclassified(&self) -> &[Unclassified] {
        &self.unclassified
    }

    /// The late-dossier report: every dossier resolved late during the
    /// period or overdue at its end, longest late first.
    pub fn late(&self, calendar: &WorkingCalendar) -> Vec<LateDossier<'a>> {
        let mut late: Vec<LateDossier<'a>> = self
            .lines
            .iter()
            .filter(|l| matches!(l.disposition, Disposition::Late | Disposition::Overdue))
            .map(|line| LateDossier::new(*line, self.period, calendar))
            .collect();
        late.sort_by(|a, b| {
            b.working_days_late
                .cmp(&a.working_days_late)
                .then_with(|| a.line.facts.code.cmp(&b.line.facts.code))
        });
        late
    }

    /// The figures as plain data (for JSON), optionally with the codes
    /// behind every non-zero figure.
    pub fn summary(&self, with_lists: bool) -> Summary {
        let row = |grouping: Grouping, key: &str, figures: &Figures| Row {
            key: key.to_string(),
            figures: *figures,
            dossiers: with_lists.then(|| {
                Column::ALL
                    .into_iter()
                    .filter(|c| figures.get(*c) > 0)
                    .map(|c| {
                        let codes = self
                            .drill_down(grouping, key, c)
                            .into_iter()
                            .map(|l| l.facts.code.clone())
                            .collect();
                        (c, codes)
                    })
                    .collect()
            }),
        };
        let rows = |grouping: Grouping| -> Vec<Row> {
            self.rows(grouping)
                .into_iter()
                .map(|(key, figures)| row(grouping, key, figures))
                .collect()
        };
        Summary {
            period: self.period,
            total: row(Grouping::Total, "", &self.total),
            by_unit: rows(Grouping::Unit),
            by_field: rows(Grouping::Field),
            by_clerk: rows(Grouping::Clerk),
            unclassified: self.unclassified.clone(),
        }
    }
}

/// One row of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The unit code, field id or clerk; empty for the total.
    pub key: String,
    pub figures: Figures,
    /// The codes behind each non-zero figure, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dossiers: Option<BTreeMap<Column, Vec<String>>>,
}

/// Report 06a as plain data: what the API returns and the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub period: Period,
    pub total: Row,
    pub by_unit: Vec<Row>,
    pub by_field: Vec<Row>,
    pub by_clerk: Vec<Row>,
    pub unclassified: Vec<Unclassified>,
}

/// A dossier of the late-dossier report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateDossier<'a> {
    /// Late (resolved after its appointment) or overdue (open past it).
    pub line: Line<'a>,
    /// Working days after the appointment date, up to and including the day
    /// it was resolved (or the period's last day while open). A dossier
    /// finished on a day off just after its appointment is late by date and
    /// by zero working days.
    pub working_days_late: u32,
}

impl<'a> LateDossier<'a> {
    fn new(line: Line<'a>, period: Period, calendar: &WorkingCalendar) -> Self {
        let date = |ms: i64| time::from_millis(ms).map(|t| time::vn_date(&t));
        let until = match line.disposition {
            Disposition::Late => line.finished_at.and_then(date),
            _ => Some(period.to()),
        };
        let working_days_late = match (date(line.due_at), until) {
            (Some(due), Some(until)) => match (due.succ_opt(), until.succ_opt()) {
                (Some(after_due), Some(after_until)) => {
                    calendar.working_days_between(after_due, after_until)
                }
                _ => 0,
            },
            _ => 0,
        };
        LateDossier {
            line,
            working_days_late,
        }
    }
}
