//! The page: one self-contained HTML document (inline CSS, inline SVG; no script, font,
//! image or link to anything outside it). It is also well-formed XML, so that a test can
//! parse it whole.

use crate::model::{time_label, ReportData};
use crate::plots;
use crate::ReportError;

/// Appends formatted text (no `fmt::Write`: its `Result` cannot fail on a `String`, and
/// discarding it is denied).
macro_rules! w {
    ($h:expr, $($arg:tt)*) => { $h.push_str(&format!($($arg)*)) };
}

/// Appends formatted text and a newline.
macro_rules! wl {
    ($h:expr, $($arg:tt)*) => {{ $h.push_str(&format!($($arg)*)); $h.push('\n'); }};
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const CSS: &str = "
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1000px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.8em; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
p.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td.l, th.l { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure { margin: 0; }
figure svg { display: block; max-width: 100%; height: auto; }
.private { background: #fff8e6; border-left: 4px solid #f0b400; padding: 0.4em 0.8em; }
.pass { color: #1a7f37; }
.fail { color: #cf222e; font-weight: bold; }
";

/// Renders the report. The data is checked first ([`ReportData::validate`]).
pub fn render(data: &ReportData) -> Result<String, ReportError> {
    data.validate()?;
    let mut h = String::new();
    wl!(h, "<!DOCTYPE html>");
    wl!(h, "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>");
    wl!(h, "<title>{}</title>", escape(&data.title));
    wl!(h, "<style>{CSS}</style>\n</head>\n<body>");
    wl!(h, "<h1>{}</h1>", escape(&data.title));
    wl!(
        h,
        "<p class=\"meta\">generated {}</p>",
        escape(&data.generated_at)
    );
    for note in &data.notes {
        wl!(h, "<p>{}</p>", escape(note));
    }
    market(&mut h, data);
    summary(&mut h, data);
    day(&mut h, data)?;
    curves(&mut h, data)?;
    prosumers(&mut h, data)?;
    checks(&mut h, data);
    wl!(h, "</body>\n</html>");
    Ok(h)
}

fn market(h: &mut String, data: &ReportData) {
    let m = &data.market;
    let prices: Vec<String> = (0..m.levels).map(|k| m.price(k).to_string()).collect();
    wl!(
        h,
        "<p>Price grid: K = {} levels, p_k = {} + k &#183; {} token units per Wh ({}); {}-minute slots.</p>",
        m.levels,
        m.floor,
        m.tick,
        escape(&prices.join(", ")),
        m.slot_minutes
    );
}

fn cell(h: &mut String, text: &str) {
    w!(h, "<td>{}</td>", escape(text));
}

fn summary(h: &mut String, data: &ReportData) {
    wl!(h, "<h2>Slots</h2>\n<table id=\"summary\">");
    wl!(
        h,
        "<tr><th class=\"l\">slot</th><th>round</th><th>bids</th><th>k*</th><th>p*</th><th>volume Wh</th><th>settled</th><th>defaults</th><th>paid</th><th>credited</th><th>penalties</th><th>gas</th></tr>"
    );
    for s in &data.slots {
        w!(
            h,
            "<tr><td class=\"l\">{}</td>",
            escape(&time_label(data.minutes_of(s.round)))
        );
        cell(h, &s.round.to_string());
        cell(h, &s.bids.to_string());
        if s.cleared {
            cell(h, &s.level.to_string());
            cell(h, &s.price.to_string());
        } else {
            cell(h, "-");
            cell(h, "not cleared");
        }
        for v in [
            s.volume,
            s.settled as u64,
            s.defaults as u64,
            s.paid,
            s.credited,
            s.penalties,
        ] {
            cell(h, &v.to_string());
        }
        cell(h, &s.gas.map_or_else(|| "-".to_owned(), |g| g.to_string()));
        wl!(h, "</tr>");
    }
    wl!(h, "</table>");
}

fn figure(h: &mut String, id: &str, svg: &str) {
    wl!(h, "<figure id=\"{}\">\n{svg}</figure>", escape(id));
}

fn day(h: &mut String, data: &ReportData) -> Result<(), ReportError> {
    wl!(
        h,
        "<h2>Prices and volumes over the day</h2>\n<div class=\"grid\">"
    );
    figure(h, "prices", &plots::prices(data)?);
    figure(h, "volumes", &plots::volumes(data)?);
    wl!(h, "</div>");
    Ok(())
}

fn curves(h: &mut String, data: &ReportData) -> Result<(), ReportError> {
    wl!(
        h,
        "<h2>Aggregate curves per slot</h2>\n<p>Step curves over the price grid from the decrypted histograms: demand D(k) = &#931;<sub>j&#8805;k</sub> H_buy[j], supply S(k) = &#931;<sub>j&#8804;k</sub> H_sell[j]; the dot marks the clearing point (p*, V*).</p>\n<div class=\"grid\">"
    );
    for s in &data.slots {
        figure(h, &format!("curves-{}", s.round), &plots::curves(data, s)?);
    }
    wl!(h, "</div>");
    Ok(())
}

fn prosumers(h: &mut String, data: &ReportData) -> Result<(), ReportError> {
    if data.prosumers.is_empty() {
        return Ok(());
    }
    wl!(
        h,
        "<h2>Each prosumer's own view</h2>\n<p class=\"private\">PRIVATE: a prosumer's side, level, quantity, fill and money are known only to its owner. This report has them because its maker plays every household; a public audit cannot show this section.</p>"
    );
    for (i, p) in data.prosumers.iter().enumerate() {
        wl!(
            h,
            "<section id=\"prosumer-{i}\">\n<h3>{}</h3>",
            escape(&p.name)
        );
        if p.trades.is_empty() {
            wl!(h, "<p>No bids.</p>\n</section>");
            continue;
        }
        wl!(h, "<div class=\"grid\">");
        figure(
            h,
            &format!("prosumer-{i}-plot"),
            &plots::prosumer(data, &p.trades)?,
        );
        wl!(
            h,
            "<table><tr><th class=\"l\">slot</th><th class=\"l\">side</th><th>level</th><th>limit</th><th>q Wh</th><th>fill Wh</th><th>paid</th><th>credited</th><th>penalty</th></tr>"
        );
        for t in &p.trades {
            w!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td>",
                escape(&time_label(data.minutes_of(t.round))),
                t.side.as_str()
            );
            cell(h, &t.level.to_string());
            cell(h, &data.market.price(t.level).to_string());
            for v in [t.q, t.fill, t.paid, t.credited, t.penalty] {
                cell(h, &v.to_string());
            }
            wl!(h, "</tr>");
        }
        wl!(h, "</table>\n</div>\n</section>");
    }
    Ok(())
}

fn checks(h: &mut String, data: &ReportData) {
    if data.checks.is_empty() {
        return;
    }
    let passed = data.checks.iter().filter(|c| c.passed).count();
    wl!(
        h,
        "<h2>Checks</h2>\n<p>{passed} of {} passed.</p>\n<ul id=\"checks\">",
        data.checks.len()
    );
    for c in &data.checks {
        let (class, mark) = if c.passed {
            ("pass", "passed")
        } else {
            ("fail", "FAILED")
        };
        wl!(
            h,
            "<li><span class=\"{class}\">{mark}</span> {}</li>",
            escape(&c.name)
        );
    }
    wl!(h, "</ul>");
}
