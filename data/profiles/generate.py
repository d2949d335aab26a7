"""Standard household profiles for `sealgrid demo`: writes profiles.csv beside this file.

The demo day is 2025-06-21 (a Saturday; `DEMO_DAY_UNIX` in cli/src/demo/mod.rs), and the
demo's 15-minute slots are counted from midnight UTC. This script gives, for each of the
96 UTC quarter-hours of that day:

- `h0_wh`: the energy (Wh) a household with an annual consumption of 1,000 kWh draws in
  the quarter-hour according to the BDEW H0 standard load profile ("Haushalt") with the
  BDEW dynamisation function (the 4th-degree polynomial over the day of the year), as
  demandlib's `ElecSlp(2025, holidays=...)["h0_dyn"]` implements it. H0 is defined in
  German legal time, so the UTC quarter-hour 00:00 of 2025-06-21 is the H0 value of
  02:00 CEST, and 22:00-24:00 UTC take Sunday 2025-06-22 00:00-02:00 CEST. Holidays are
  those of Hesse in 2025 (they count as Sundays in H0 and shift the yearly normalisation
  a little); the demo day is not one.
- `pv_wh`: the AC energy (Wh) of 1 kWp of PV in the quarter-hour on a CLEAR-SKY day
  (no clouds: the upper envelope of that day's yield, not an average day) at Kassel,
  Germany (51.3127 N, 9.4797 E, 165 m), from pvlib: Ineichen/Perez clear-sky irradiance
  with pvlib's bundled monthly Linke turbidity climatology, a fixed array tilted 35
  degrees facing due south (azimuth 180), Perez transposition, the SAPM cell temperature
  of an open-rack glass/polymer module at 20 C air and 1 m/s wind, PVWatts DC (gamma
  -0.4 %/K), the PVWatts default system losses (14.08 %) and the PVWatts inverter (96 %
  nominal efficiency, sized to 1 kW). Evaluated at the middle of every minute and
  averaged over each quarter-hour.

Values are rounded to 0.001 Wh, and the file's header names the library versions, so a
rerun with the pinned requirements gives identical bytes. Nothing is downloaded at run
time: the Linke turbidity table ships with pvlib, the H0 table with demandlib.

Regenerate (from the repository root):

    python3 -m venv /tmp/venv-profiles
    /tmp/venv-profiles/bin/pip install -r data/profiles/requirements.txt
    /tmp/venv-profiles/bin/python data/profiles/generate.py
    git diff --exit-code data/profiles/profiles.csv   # empty unless an input changed

The Rust side (cli/src/demo/profile.rs) embeds profiles.csv and checks its shape.
"""

import datetime
import pathlib

import demandlib
import numpy as np
import pandas as pd
import pvlib
from demandlib import bdew
from pvlib.location import Location
from pvlib.modelchain import ModelChain
from pvlib.pvsystem import PVSystem
from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

OUT = pathlib.Path(__file__).with_name("profiles.csv")

DAY = datetime.date(2025, 6, 21)
TZ = "Europe/Berlin"
# Public holidays in Hesse, 2025 (Easter Sunday is 20 April).
HOLIDAYS = [
    datetime.date(2025, 1, 1),  # Neujahr
    datetime.date(2025, 4, 18),  # Karfreitag
    datetime.date(2025, 4, 21),  # Ostermontag
    datetime.date(2025, 5, 1),  # Tag der Arbeit
    datetime.date(2025, 5, 29),  # Christi Himmelfahrt
    datetime.date(2025, 6, 9),  # Pfingstmontag
    datetime.date(2025, 6, 19),  # Fronleichnam
    datetime.date(2025, 10, 3),  # Tag der Deutschen Einheit
    datetime.date(2025, 12, 25),  # 1. Weihnachtstag
    datetime.date(2025, 12, 26),  # 2. Weihnachtstag
]
SITE = dict(latitude=51.3127, longitude=9.4797, altitude=165, name="Kassel")
TILT, AZIMUTH = 35, 180
ANNUAL_KWH = 1_000
KWP = 1.0


def slots_utc() -> pd.DatetimeIndex:
    """The 96 quarter-hour starts of the demo day, UTC."""
    start = pd.Timestamp(DAY, tz="UTC")
    return pd.date_range(start, periods=96, freq="15min")


def h0_wh(slots: pd.DatetimeIndex) -> np.ndarray:
    """Dynamised H0, Wh per quarter-hour for ANNUAL_KWH, at the given UTC slot starts."""
    # ElecSlp's index is naive legal time for all of 2025; the profile sums to 1 over it.
    slp = bdew.ElecSlp(DAY.year, holidays=HOLIDAYS).get_profiles("h0_dyn")["h0_dyn"]
    local = slots.tz_convert(TZ).tz_localize(None)
    # The last two hours of the UTC day are 2025-06-22 in Berlin, still inside 2025.
    return slp.reindex(local).to_numpy() * ANNUAL_KWH * 1_000


def pv_wh(slots: pd.DatetimeIndex) -> np.ndarray:
    """Clear-sky AC energy of KWP, Wh per quarter-hour, at the given UTC slot starts."""
    site = Location(**SITE, tz="UTC")
    system = PVSystem(
        surface_tilt=TILT,
        surface_azimuth=AZIMUTH,
        module_parameters={"pdc0": KWP * 1_000, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": KWP * 1_000, "eta_inv_nom": 0.96},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][
            "open_rack_glass_polymer"
        ],
    )
    chain = ModelChain.with_pvwatts(system, site, transposition_model="perez")
    # The middle of every minute of the day.
    minutes = pd.date_range(
        slots[0] + pd.Timedelta(seconds=30), periods=96 * 15, freq="1min"
    )
    weather = site.get_clearsky(minutes, model="ineichen")
    weather["temp_air"] = 20.0
    weather["wind_speed"] = 1.0
    chain.run_model(weather)
    ac = chain.results.ac.clip(lower=0.0).fillna(0.0)
    per_slot = ac.groupby(np.arange(len(ac)) // 15).mean().to_numpy()
    return per_slot * 0.25


def main() -> None:
    slots = slots_utc()
    load = h0_wh(slots)
    pv = pv_wh(slots)
    if np.isnan(load).any() or np.isnan(pv).any():
        raise SystemExit("a slot has no value")
    lines = [
        "# sealgrid demo household profiles: one day, 96 quarter-hours (UTC starts).",
        "# Written by data/profiles/generate.py; regenerate as its docstring says.",
        f"# day: {DAY.isoformat()} (Saturday), quarter-hours in UTC, H0 looked up in {TZ} legal time",
        f"# h0_wh: Wh per quarter-hour for {ANNUAL_KWH} kWh/a, BDEW H0 with dynamisation"
        f" (demandlib {demandlib.__version__}, ElecSlp h0_dyn, holidays of Hesse 2025)",
        f"# pv_wh: Wh AC per quarter-hour for {KWP:g} kWp, clear sky (pvlib {pvlib.__version__},"
        f" Ineichen + bundled Linke turbidity, PVWatts ModelChain, Perez transposition,"
        f" 14.08 % losses, 96 % inverter)",
        f"# site: {SITE['name']}, Germany, {SITE['latitude']} N {SITE['longitude']} E"
        f" {SITE['altitude']} m; array tilt {TILT} deg, azimuth {AZIMUTH} (south)",
        f"# day totals: h0 {load.sum() / 1000:.3f} kWh, pv {pv.sum() / 1000:.3f} kWh",
        "slot,utc_start,h0_wh,pv_wh",
    ]
    for i, (t, l, p) in enumerate(zip(slots, load, pv)):
        lines.append(f"{i},{t:%H:%M},{l:.3f},{p:.3f}")
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
