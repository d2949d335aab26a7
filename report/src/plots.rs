//! The SVG plots, drawn with plotters' SVG backend into strings.
//!
//! Element conventions the tests rely on: a curve is one `<polyline>` in its colour (its
//! legend sample is another, of two points); a clearing or price point is one `<circle>`
//! (legends here use lines and rectangles, never circles); bars are `<rect>`s.

use plotters::coord::combinators::IntoLinspace;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::model::{time_label, ReportData, Side, SlotData};
use crate::ReportError;

/// Demand curve, buy bids.
pub const DEMAND: RGBColor = RGBColor(0x1F, 0x77, 0xB4);
/// Supply curve, sell bids.
pub const SUPPLY: RGBColor = RGBColor(0xFF, 0x7F, 0x0E);
/// The clearing point and prices.
pub const CLEARING: RGBColor = RGBColor(0xD6, 0x27, 0x28);
/// Volumes.
pub const VOLUME: RGBColor = RGBColor(0x2C, 0xA0, 0x2C);

const FONT: &str = "sans-serif";

fn plot_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> ReportError {
    ReportError::Plot(e.to_string())
}

/// Draws into a fresh SVG of `size` and returns it without its `xmlns` attribute: the
/// HTML parser puts an inline `<svg>` in the SVG namespace by itself, and the page then
/// names no URL at all.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), ReportError>,
) -> Result<String, ReportError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(out.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1))
}

fn y_top(max: u64) -> f64 {
    (max.max(1) as f64 * 1.12).ceil()
}

/// A step curve over the price grid: level k is a horizontal segment at `values[k]` from
/// `p_k − tick/2` to `p_k + tick/2`, so 2K points.
fn steps(data: &ReportData, values: &[u64]) -> Vec<(f64, f64)> {
    let half = data.market.tick as f64 / 2.0;
    values
        .iter()
        .enumerate()
        .flat_map(|(k, &v)| {
            let p = data.market.price(k) as f64;
            [(p - half, v as f64), (p + half, v as f64)]
        })
        .collect()
}

/// One round's demand and supply step curves with the clearing point.
pub fn curves(data: &ReportData, slot: &SlotData) -> Result<String, ReportError> {
    let m = &data.market;
    let (demand, supply) = (slot.demand(), slot.supply());
    let top = y_top(demand.iter().chain(&supply).copied().max().unwrap_or(0));
    let half = m.tick as f64 / 2.0;
    let x = (m.floor as f64 - half)..(m.price(m.levels - 1) as f64 + half);
    let when = time_label(data.minutes_of(slot.round));
    let caption = if slot.cleared {
        format!(
            "{when}: k* = {}, p* = {}, V* = {} Wh",
            slot.level, slot.price, slot.volume
        )
    } else {
        format!("{when}: not cleared")
    };
    svg((460, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 15))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(58)
            .build_cartesian_2d(x, 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(m.levels.min(16))
            .x_label_formatter(&|p| format!("{p:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("price p_k (token units / Wh)")
            .y_desc("Wh")
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(plot_err)?;
        for (values, colour, name) in [
            (&demand, DEMAND, "demand D(k)"),
            (&supply, SUPPLY, "supply S(k)"),
        ] {
            chart
                .draw_series(LineSeries::new(steps(data, values), colour.stroke_width(2)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        if slot.cleared {
            let (p, v) = (slot.price as f64, slot.volume as f64);
            chart
                .draw_series([Circle::new((p, v), 5, CLEARING.filled())])
                .map_err(plot_err)?;
            let label = format!("(p*, V*) = ({}, {} Wh)", slot.price, slot.volume);
            chart
                .draw_series([EmptyElement::at((p, v))
                    + Text::new(label, (8, 4), (FONT, 11).into_font().color(&CLEARING))])
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperMiddle)
            .label_font((FONT, 11))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)
    })
}

/// Time axis over the slots and trades, in minutes after the first day's midnight: from
/// a slot before the first to two after the last start, with grid points at slot starts
/// (plotters thins the labels to the hint).
fn time_axis(data: &ReportData, rounds: impl Iterator<Item = u64>) -> std::ops::Range<f64> {
    let mins: Vec<u64> = rounds.map(|r| data.minutes_of(r)).collect();
    let slot = data.market.slot_minutes;
    let lo = mins.iter().copied().min().unwrap_or(0).saturating_sub(slot);
    let hi = mins.iter().copied().max().unwrap_or(0) + 2 * slot;
    lo as f64..hi as f64
}

fn slot_len(data: &ReportData) -> f64 {
    data.market.slot_minutes as f64
}

fn time_formatter(m: &f64) -> String {
    time_label(m.max(0.0).round() as u64)
}

/// Clearing prices over the day: one point per cleared round, joined by a line.
pub fn prices(data: &ReportData) -> Result<String, ReportError> {
    let m = &data.market;
    let x = time_axis(data, data.slots.iter().map(|s| s.round));
    let points: Vec<(f64, f64)> = data
        .slots
        .iter()
        .filter(|s| s.cleared)
        .map(|s| {
            (
                data.minutes_of(s.round) as f64 + m.slot_minutes as f64 / 2.0,
                s.price as f64,
            )
        })
        .collect();
    let y = (m.floor.saturating_sub(m.tick)) as f64..(m.price(m.levels - 1) + m.tick) as f64;
    svg((460, 280), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("clearing price p* per slot", (FONT, 15))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(58)
            .build_cartesian_2d(x.step(slot_len(data)), y)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&time_formatter)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("time of day (UTC, slot midpoint)")
            .y_desc("token units / Wh")
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(points.clone(), CLEARING.stroke_width(2)))
            .map_err(plot_err)?
            .label("p* (cleared slots)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], CLEARING.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, CLEARING.filled())))
            .map_err(plot_err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 11))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)
    })
}

/// Traded volume over the day: one bar per cleared round, spanning its slot.
pub fn volumes(data: &ReportData) -> Result<String, ReportError> {
    let slot = data.market.slot_minutes as f64;
    let x = time_axis(data, data.slots.iter().map(|s| s.round));
    let top = y_top(data.slots.iter().map(|s| s.volume).max().unwrap_or(0));
    let bars: Vec<(f64, f64)> = data
        .slots
        .iter()
        .filter(|s| s.cleared)
        .map(|s| (data.minutes_of(s.round) as f64, s.volume as f64))
        .collect();
    svg((460, 280), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("traded volume V* per slot", (FONT, 15))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(58)
            .build_cartesian_2d(x.step(slot_len(data)), 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&time_formatter)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("time of day (UTC)")
            .y_desc("Wh")
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(bars.iter().map(|&(t, v)| {
                Rectangle::new(
                    [(t + slot * 0.1, 0.0), (t + slot * 0.9, v)],
                    VOLUME.filled(),
                )
            }))
            .map_err(plot_err)?;
        Ok(())
    })
}

/// One prosumer's bids: per round, its quantity bid (outline) and fill (solid), in the
/// colour of its side.
pub fn prosumer(data: &ReportData, trades: &[crate::TradeView]) -> Result<String, ReportError> {
    let slot = data.market.slot_minutes as f64;
    let x = time_axis(
        data,
        data.slots
            .iter()
            .map(|s| s.round)
            .chain(trades.iter().map(|t| t.round)),
    );
    // Headroom for the legend above the bars.
    let top = y_top(trades.iter().map(|t| t.q).max().unwrap_or(0)) * 1.3;
    svg((420, 220), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(58)
            .build_cartesian_2d(x.step(slot_len(data)), 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&time_formatter)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("time of day (UTC)")
            .y_desc("Wh")
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(plot_err)?;
        for side in [Side::Buy, Side::Sell] {
            let colour = side_colour(side);
            let mine: Vec<_> = trades.iter().filter(|t| t.side == side).collect();
            let at = |t: &crate::TradeView| data.minutes_of(t.round) as f64;
            chart
                .draw_series(mine.iter().map(|t| {
                    Rectangle::new(
                        [(at(t) + slot * 0.1, 0.0), (at(t) + slot * 0.9, t.q as f64)],
                        colour.stroke_width(1),
                    )
                }))
                .map_err(plot_err)?
                .label(format!("{} bid q (outline), fill (solid)", side.as_str()))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                });
            chart
                .draw_series(mine.iter().filter(|t| t.fill > 0).map(|t| {
                    Rectangle::new(
                        [
                            (at(t) + slot * 0.1, 0.0),
                            (at(t) + slot * 0.9, t.fill as f64),
                        ],
                        colour.filled(),
                    )
                }))
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 11))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)
    })
}

/// The colour of a side: buys like demand, sells like supply.
pub fn side_colour(side: Side) -> RGBColor {
    match side {
        Side::Buy => DEMAND,
        Side::Sell => SUPPLY,
    }
}
