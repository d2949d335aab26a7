//! The rendered page parses as XML, has one SVG per plot with the elements the data asks
//! for, escapes what it is given, and names no external resource.

use roxmltree::{Document, Node, ParsingOptions};
use sealgrid_report::plots::{CLEARING, DEMAND, SUPPLY, VOLUME};
use sealgrid_report::{
    render, write, Check, MarketInfo, ProsumerView, ReportData, ReportError, Side, SlotData,
    TradeView,
};

/// 2025-06-21 16:30 UTC as a 15-minute round.
const ROUND: u64 = (1_750_464_000 + 16 * 3600 + 30 * 60) / 900;
const HOSTILE: &str = "<script>alert('x')</script> & \"h02\"";

fn slot(round: u64, h_buy: [u64; 4], h_sell: [u64; 4], cleared: Option<(usize, u64)>) -> SlotData {
    let (level, volume) = cleared.unwrap_or((0, 0));
    SlotData {
        round,
        h_buy: h_buy.to_vec(),
        h_sell: h_sell.to_vec(),
        cleared: cleared.is_some(),
        level,
        price: 60 + 20 * level as u64,
        volume,
        bids: 6,
        settled: 6,
        defaults: 0,
        paid: 1000,
        credited: 900,
        penalties: 0,
        gas: cleared.map(|_| 1_234_567),
    }
}

fn trade(round: u64, side: Side, q: u64, fill: u64) -> TradeView {
    TradeView {
        round,
        side,
        level: 2,
        q,
        fill,
        paid: if side == Side::Buy { fill * 100 } else { 0 },
        credited: if side == Side::Sell { fill * 100 } else { 0 },
        penalty: 0,
    }
}

/// Three slots on a K = 4 grid: two cleared, the middle one not.
fn sample() -> ReportData {
    ReportData {
        title: "sealgrid demo <test>".into(),
        generated_at: "2025-06-21 18:00:00 UTC".into(),
        notes: vec!["SYNTHETIC profiles & no contract".into()],
        market: MarketInfo {
            levels: 4,
            floor: 60,
            tick: 20,
            slot_minutes: 15,
        },
        slots: vec![
            slot(
                ROUND,
                [100, 200, 300, 400],
                [500, 100, 50, 0],
                Some((2, 650)),
            ),
            slot(ROUND + 1, [10, 0, 0, 0], [0, 0, 0, 20], None),
            slot(ROUND + 2, [0, 0, 0, 900], [300, 0, 0, 0], Some((0, 300))),
        ],
        prosumers: vec![
            ProsumerView {
                name: "h01".into(),
                trades: vec![
                    trade(ROUND, Side::Buy, 400, 400),
                    trade(ROUND + 1, Side::Buy, 10, 0),
                    trade(ROUND + 2, Side::Sell, 300, 300),
                ],
            },
            ProsumerView {
                name: HOSTILE.into(),
                trades: vec![trade(ROUND, Side::Sell, 500, 450)],
            },
        ],
        checks: vec![
            Check {
                name: "histograms <decrypted>".into(),
                passed: true,
            },
            Check {
                name: "ledger".into(),
                passed: false,
            },
        ],
    }
}

/// Parses the page as XML (its `<!DOCTYPE html>` is a DTD to roxmltree).
fn parse(html: &str) -> Result<Document<'_>, roxmltree::Error> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(html, options)
}

fn colour(c: plotters::style::RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no element with id {id}"))
}

/// The single `<svg>` of a figure.
fn svg_of<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Node<'a, 'i> {
    let figure = by_id(doc, id);
    assert_eq!(figure.tag_name().name(), "figure");
    let svgs: Vec<_> = figure
        .children()
        .filter(|n| n.has_tag_name("svg"))
        .collect();
    assert_eq!(svgs.len(), 1, "{id}: one svg");
    svgs[0]
}

fn elements<'a, 'i>(svg: Node<'a, 'i>, tag: &str, attr: &str, value: &str) -> Vec<Node<'a, 'i>> {
    svg.descendants()
        .filter(|n| n.has_tag_name(tag) && n.attribute(attr) == Some(value))
        .collect()
}

fn points(polyline: Node<'_, '_>) -> Vec<(f64, f64)> {
    polyline
        .attribute("points")
        .expect("points")
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

/// The longest polyline in `colour` (the other one is its legend sample).
fn curve(svg: Node<'_, '_>, colour: &str) -> Vec<(f64, f64)> {
    elements(svg, "polyline", "stroke", colour)
        .into_iter()
        .map(points)
        .max_by_key(Vec::len)
        .expect("a curve")
}

#[test]
fn the_page_is_well_formed_with_one_svg_per_plot() {
    let data = sample();
    let html = render(&data).expect("renders");
    let doc = parse(&html).expect("the page is well-formed XML");
    let svgs = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
    // prices + volumes + one curve plot per slot + one plot per prosumer with trades
    assert_eq!(svgs, 2 + data.slots.len() + data.prosumers.len());
    let rows = by_id(&doc, "summary")
        .children()
        .filter(|n| n.has_tag_name("tr"))
        .count();
    assert_eq!(rows, 1 + data.slots.len());
    assert!(html.contains("not cleared"));
    assert!(html.contains("1234567"), "gas is shown when known");
    assert!(html.contains("FAILED"), "a failed check is shown");
}

#[test]
fn curves_are_steps_over_the_grid_with_a_marker_per_cleared_slot() {
    let data = sample();
    let html = render(&data).expect("renders");
    let doc = parse(&html).expect("well-formed");
    let k = data.market.levels;
    for s in &data.slots {
        let svg = svg_of(&doc, &format!("curves-{}", s.round));
        let markers = elements(svg, "circle", "fill", &colour(CLEARING));
        assert_eq!(markers.len(), usize::from(s.cleared), "round {}", s.round);
        let (d, sup) = (curve(svg, &colour(DEMAND)), curve(svg, &colour(SUPPLY)));
        assert_eq!(d.len(), 2 * k, "two points per level");
        assert_eq!(sup.len(), 2 * k);
        let (dv, sv) = (s.demand(), s.supply());
        for j in 0..k {
            // Each level is a horizontal segment, and a larger value is drawn higher
            // (a smaller y in SVG) than a smaller one, on either curve.
            assert_eq!(d[2 * j].1, d[2 * j + 1].1);
            assert_eq!(sup[2 * j].1, sup[2 * j + 1].1);
            assert!(d[2 * j].0 < d[2 * j + 1].0);
            assert_eq!(dv[j].cmp(&sv[j]), sup[2 * j].1.total_cmp(&d[2 * j].1));
            if j > 0 {
                assert_eq!(dv[j].cmp(&dv[j - 1]), d[2 * j - 2].1.total_cmp(&d[2 * j].1));
            }
        }
        if s.cleared {
            // The marker sits on the clearing level's segment of a curve at V*.
            let cx: f64 = markers[0].attribute("cx").expect("cx").parse().expect("x");
            let cy: f64 = markers[0].attribute("cy").expect("cy").parse().expect("y");
            let (x0, x1) = (d[2 * s.level].0, d[2 * s.level + 1].0);
            assert!(x0 < cx && cx < x1, "marker at level {}", s.level);
            let on =
                |c: &[(f64, f64)], v: u64| v == s.volume && (c[2 * s.level].1 - cy).abs() <= 1.0;
            assert!(on(&d, dv[s.level]) || on(&sup, sv[s.level]));
        }
    }
}

#[test]
fn day_plots_have_one_point_or_bar_per_cleared_slot() {
    let data = sample();
    let html = render(&data).expect("renders");
    let doc = parse(&html).expect("well-formed");
    let cleared = data.slots.iter().filter(|s| s.cleared).count();
    let prices = svg_of(&doc, "prices");
    assert_eq!(
        elements(prices, "circle", "fill", &colour(CLEARING)).len(),
        cleared
    );
    assert_eq!(curve(prices, &colour(CLEARING)).len(), cleared);
    let volumes = svg_of(&doc, "volumes");
    assert_eq!(
        elements(volumes, "rect", "fill", &colour(VOLUME)).len(),
        cleared
    );
    // The time axis is labelled with the slots' times of day.
    let labels: Vec<_> = prices.descendants().filter_map(|n| n.text()).collect();
    assert!(labels.iter().any(|t| t.trim() == "16:30"), "{labels:?}");
}

#[test]
fn each_prosumer_has_its_own_plot_and_table() {
    let data = sample();
    let html = render(&data).expect("renders");
    let doc = parse(&html).expect("well-formed");
    for (i, p) in data.prosumers.iter().enumerate() {
        let svg = svg_of(&doc, &format!("prosumer-{i}-plot"));
        for side in [Side::Buy, Side::Sell] {
            let c = colour(if side == Side::Buy { DEMAND } else { SUPPLY });
            let mine = p.trades.iter().filter(|t| t.side == side);
            // outlines: one per bid; solid: one per non-zero fill, plus the legend's sample
            let outlines = elements(svg, "rect", "stroke", &c)
                .into_iter()
                .filter(|n| n.attribute("fill") == Some("none"))
                .count();
            assert_eq!(outlines, mine.clone().count(), "{} {side:?}", p.name);
            let solid = elements(svg, "rect", "fill", &c).len();
            assert_eq!(
                solid,
                mine.filter(|t| t.fill > 0).count() + 1,
                "{} {side:?}",
                p.name
            );
        }
        let section = by_id(&doc, &format!("prosumer-{i}"));
        let rows = section
            .descendants()
            .filter(|n| n.has_tag_name("tr"))
            .count();
        assert_eq!(rows, 1 + p.trades.len());
    }
}

#[test]
fn hostile_text_is_escaped() {
    let html = render(&sample()).expect("renders");
    assert!(
        !html.contains("<script"),
        "no script element, escaped or not"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;h02&quot;"));
    assert!(html.contains("sealgrid demo &lt;test&gt;"));
    assert!(html.contains("histograms &lt;decrypted&gt;"));
    let doc = parse(&html).expect("well-formed");
    let h3: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("h3"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(h3, ["h01", HOSTILE], "the name reads back as given");
}

#[test]
fn the_page_names_no_external_resource() {
    let html = render(&sample()).expect("renders").to_lowercase();
    for needle in [
        "http", "src=", "href=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(needle), "the page contains {needle:?}");
    }
}

#[test]
fn rendering_is_deterministic_and_refuses_bad_data() {
    assert_eq!(
        render(&sample()).expect("renders"),
        render(&sample()).expect("renders")
    );
    let mut bad = sample();
    bad.slots[1].h_sell.pop();
    assert!(matches!(render(&bad), Err(ReportError::Data(_))));
    let mut bad = sample();
    bad.slots[0].level = 4;
    assert!(matches!(render(&bad), Err(ReportError::Data(_))));
    let mut bad = sample();
    bad.market.tick = 0;
    assert!(matches!(render(&bad), Err(ReportError::Data(_))));
}

#[test]
fn an_audit_without_private_views_renders_no_prosumer_section() {
    let data = ReportData {
        prosumers: Vec::new(),
        ..sample()
    };
    let html = render(&data).expect("renders");
    assert!(!html.contains("PRIVATE"));
    let doc = parse(&html).expect("well-formed");
    assert_eq!(
        doc.descendants().filter(|n| n.has_tag_name("svg")).count(),
        2 + data.slots.len()
    );
}

#[test]
fn write_replaces_the_file_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("report.html");
    write(&sample(), &path).expect("written");
    write(&sample(), &path).expect("overwritten");
    let on_disk = std::fs::read_to_string(&path).expect("read");
    assert_eq!(on_disk, render(&sample()).expect("renders"));
    let left: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["report.html"], "no temporary file left behind");
}
