"""Astrometric alignment of exposures from their source catalogs.

The official algorithm (``tweakwcs.align_wcs`` as the pipeline drives it), with tweakwcs'
matcher (``XYXYMatch``) and iterative linear fit (``iter_linear_fit``) and a light driver:

* Exposures of the same visit exposure (the same :func:`group_id`: program, observation,
  visit, visit group, sequence, activity, exposure) move together: one fit per group.
* Every group is fitted in the V2/V3 *tangent plane* of its first exposure: the gnomonic
  projection about (V2_REF, V3_REF) with the roll, in arcsec -- the plane of the official
  ``TPCorr`` correction -- of the frame before the sky rotation (``v2v3vacorr``, or
  ``v2v3corr`` when a correction is already there). Source positions come from the pixel
  catalogs through each exposure's WCS to the sky and back into that plane; reference
  positions from the sky.
* :func:`relative_align`: a reference group is chosen (the input order with
  ``enforce_user_order``, else the group overlapping the others most), then each remaining
  group, in order of decreasing overlap with those already aligned, is matched to the
  reference catalog (``searchrad``, ``separation``, ``tolerance``, ``use2dhist``,
  ``xoffset``/``yoffset`` [arcsec]) and fitted (``fitgeometry`` shift/rshift/rscale/general,
  ``nclip`` passes at ``sigma`` times the RMS); with ``expand_refcat`` its unmatched sources
  join the reference catalog. :func:`absolute_align` fits all exposures, as one group, to an
  external catalog of sky positions (:func:`read_refcat`).
* The fitted affine transform is converted to each member's own tangent plane and folded
  into its gwcs as the official correction: a ``TPCorr``-structured transform (built with
  tweakwcs' own constructors, standard astropy models, so it serialises with the standard
  ASDF tags and official tools recognise it) from ``v2v3vacorr`` to a new ``v2v3corr``
  frame -- or combined with the correction already there.

A fit is *refused* -- the group keeps its WCS and the reason is logged -- when it matched
fewer than ``minobj`` sources, left residuals above ``tolerance`` (RMS), or moved the
exposure by more than ``searchrad`` (plus the initial offset).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table
from tweakwcs.correctors import JWSTWCSCorrector
from tweakwcs.linearfit import iter_linear_fit
from tweakwcs.matchutils import MatchSourceConfusionError, XYXYMatch

from webbcal.errors import InputError, ParameterError

log = logging.getLogger(__name__)

__all__ = [
    "NETWORK_CATALOGS",
    "AlignResult",
    "Exposure",
    "MatchConfig",
    "absolute_align",
    "group_id",
    "read_refcat",
    "relative_align",
]

#: Astrometric catalogs the official step downloads; webbcal works offline.
NETWORK_CATALOGS = ("GAIAREFCAT", "GAIADR3", "GAIADR2", "GAIADR1")

_ARCSEC = math.pi / 180.0 / 3600.0
_CORRECTOR = JWSTWCSCorrector


@dataclass(frozen=True)
class MatchConfig:
    """Matching and fitting options (the official names; distances in arcsec)."""

    minobj: int = 15
    searchrad: float = 2.0
    use2dhist: bool = True
    separation: float = 1.0
    tolerance: float = 0.7
    xoffset: float = 0.0
    yoffset: float = 0.0
    fitgeometry: str = "rshift"
    nclip: int = 3
    sigma: float = 3.0


@dataclass
class AlignResult:
    """The outcome of one exposure's fit.

    ``status``: ``REFERENCE``, ``SUCCESS``, ``FAILED: ...`` or ``REFUSED: ...``;
    ``applied``: whether its WCS was replaced.
    """

    name: str
    status: str
    applied: bool = False
    nmatches: int = 0
    rms_mas: float = math.nan
    shift_arcsec: tuple[float, float] = (math.nan, math.nan)
    rotation_deg: float = math.nan
    scale: float = math.nan

    def as_meta(self) -> dict[str, Any]:
        """A plain dict for ``meta.webbcal``."""
        return {
            "status": self.status,
            "applied": self.applied,
            "nmatches": int(self.nmatches),
            "rms_mas": float(self.rms_mas),
            "shift_arcsec": [float(v) for v in self.shift_arcsec],
            "rotation_deg": float(self.rotation_deg),
            "scale": float(self.scale),
        }


def group_id(model: Any) -> str:
    """The exposure a model belongs to (detectors of one exposure share it)."""
    obs = model.meta.observation
    parts = (obs.program_number, obs.observation_number, obs.visit_number,
             obs.visit_group, obs.sequence_id, obs.activity_id, obs.exposure_number)  # fmt: skip
    if all(p is None for p in parts):
        return str(model.meta.filename or id(model))
    return "_".join(str(p) for p in parts)


def read_refcat(path: str | Path) -> Table:
    """An absolute reference catalog (``ra``/``dec`` or ``RA``/``DEC`` [deg]).

    Raises
    ------
    ParameterError
        For the name of a network catalog (GAIA...): webbcal does not download catalogs.
    InputError
        When the file is missing or has no RA/Dec columns.
    """
    text = str(path).strip()
    if text.upper() in NETWORK_CATALOGS:
        raise ParameterError(
            f"tweakreg: abs_refcat={text!r} needs the network catalog service, which webbcal "
            "does not use; give an ECSV file with ra, dec columns instead"
        )
    file = Path(text).expanduser()
    if not file.is_file():
        raise InputError("abs_refcat: reference catalog not found", path=file)
    try:
        table = Table.read(file)
    except (OSError, ValueError) as exc:
        raise InputError(f"abs_refcat: cannot read the catalog ({exc})", path=file) from None
    names = {c.lower(): c for c in table.colnames}
    if "ra" not in names or "dec" not in names:
        raise InputError("abs_refcat: the catalog needs ra and dec columns", path=file)
    out = Table({"RA": np.asarray(table[names["ra"]], float),
                 "DEC": np.asarray(table[names["dec"]], float)})  # fmt: skip
    out.meta["name"] = file.name
    return out


class Exposure:
    """One exposure's catalog and the pieces of its WCS the alignment uses.

    Parameters
    ----------
    model : DataModel
        With ``meta.wcs`` (frames ``v2v3`` ...) and V2_REF, V3_REF, ROLL_REF.
    catalog : Table
        ``xcentroid``, ``ycentroid`` [0-based pixels].
    name : str
    """

    def __init__(self, model: Any, catalog: Table, name: str) -> None:
        info = model.meta.wcsinfo
        refs = (info.v2_ref, info.v3_ref, info.roll_ref)
        if any(v is None for v in refs):
            raise InputError("tweakreg needs V2_REF, V3_REF and ROLL_REF",
                             path=model.meta.filename)  # fmt: skip
        wcs = model.meta.wcs
        frames = wcs.available_frames
        if "v2v3" not in frames:
            raise InputError("tweakreg needs a WCS with a v2v3 frame (run assign_wcs)",
                             path=model.meta.filename)  # fmt: skip
        self.model, self.name, self.group = model, name, group_id(model)
        self.v2_ref, self.v3_ref, self.roll = (float(v) for v in refs)
        self._use(wcs)
        default = _CORRECTOR._tpcorr_init(self.v2_ref / 3600.0, self.v3_ref / 3600.0, self.roll,
                                          corrector_name=_CORRECTOR.corrector_name)  # fmt: skip
        self._plane = _CORRECTOR._v2v3_to_tpcorr_from_full(default)
        self.x = np.asarray(catalog["xcentroid"], float)
        self.y = np.asarray(catalog["ycentroid"], float)
        self.v2, self.v3 = (np.asarray(v, float) for v in self._to_frame(self.x, self.y))
        ny, nx = model.shape[-2:]
        cx, cy = (nx - 1) / 2.0, (ny - 1) / 2.0
        u2, u3 = self._to_frame(np.array([cx, cx + 1.0, cx]), np.array([cy, cy, cy + 1.0]))
        self.pixel_scale = math.sqrt(math.hypot(u2[1] - u2[0], u3[1] - u3[0])
                                     * math.hypot(u2[2] - u2[0], u3[2] - u3[0]))  # fmt: skip

    def _use(self, wcs: Any) -> None:
        """Take the transforms the alignment needs from ``wcs``."""
        frames = wcs.available_frames
        self.frame = next(f for f in ("v2v3corr", "v2v3vacorr", "v2v3") if f in frames)
        self._to_frame = wcs.get_transform(frames[0], self.frame)
        self._to_sky = wcs.get_transform(self.frame, frames[-1])
        self._wcs = wcs
        self._to_pixels: Any = None  # built when first needed (gwcs builds it anew)
        self._sky: tuple[np.ndarray, np.ndarray] | None = None  # sky() through this WCS

    def plane(self, v2: np.ndarray, v3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame coordinates [arcsec] -> this exposure's tangent plane [arcsec]."""
        x, y = self._plane(v2, v3)
        return np.asarray(x) / _ARCSEC, np.asarray(y) / _ARCSEC

    def from_plane(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tangent plane [arcsec] -> frame coordinates [arcsec]."""
        v2, v3 = self._plane.inverse(np.asarray(x) * _ARCSEC, np.asarray(y) * _ARCSEC)
        return np.asarray(v2), np.asarray(v3)

    def to_frame(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sky [deg] -> frame coordinates [arcsec]."""
        v2, v3 = self._to_sky.inverse(ra, dec)
        return np.asarray(v2), np.asarray(v3)

    def to_sky(self, v2: np.ndarray, v3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame coordinates [arcsec] -> sky [deg]."""
        ra, dec = self._to_sky(v2, v3)
        return np.asarray(ra), np.asarray(dec)

    def sky(self) -> tuple[np.ndarray, np.ndarray]:
        """Sky positions of the catalog through the current WCS (read-only arrays)."""
        if self._sky is None:
            ra, dec = self.to_sky(self.v2, self.v3)
            ra.flags.writeable = dec.flags.writeable = False
            self._sky = (ra, dec)
        return self._sky

    def inside(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        """Which sky positions fall on this exposure's array."""
        if self._to_pixels is None:
            self._to_pixels = self._wcs.backward_transform
        x, y = (np.asarray(v) for v in self._to_pixels(ra, dec))
        ny, nx = self.model.shape[-2:]
        return np.isfinite(x) & (x > -0.5) & (x < nx - 0.5) & (y > -0.5) & (y < ny - 0.5)

    def apply(self, matrix: np.ndarray, shift: np.ndarray) -> None:
        """Fold the affine ``p -> matrix p + shift`` of this exposure's plane into its WCS."""
        from gwcs import WCS

        wcs = self.model.meta.wcs
        steps = [(s.frame, s.transform) for s in wcs.pipeline]
        names = wcs.available_frames
        if "v2v3corr" in names and wcs.pipeline[names.index("v2v3corr") - 1].transform.name == (
            _CORRECTOR.corrector_name
        ):
            j = names.index("v2v3corr")
            tpcorr = copy.deepcopy(steps[j - 1][1])
            _CORRECTOR._tpcorr_combine_affines(tpcorr, matrix, _ARCSEC * shift)
            steps[j - 1] = (steps[j - 1][0], tpcorr)
        else:
            tpcorr = _CORRECTOR._tpcorr_init(self.v2_ref / 3600.0, self.v3_ref / 3600.0, self.roll,
                                             corrector_name=_CORRECTOR.corrector_name)  # fmt: skip
            _CORRECTOR._tpcorr_combine_affines(tpcorr, matrix, _ARCSEC * shift)
            j = names.index(self.frame)
            after = steps[j][1]
            frame = copy.deepcopy(steps[j][0])
            frame.name = "v2v3corr"
            steps[j] = (steps[j][0], tpcorr)
            steps.insert(j + 1, (frame, after))
        new = WCS(steps, name=wcs.name)
        if wcs.bounding_box is not None:
            new.bounding_box = wcs.bounding_box
        if getattr(wcs, "array_shape", None) is not None:
            new.array_shape = wcs.array_shape
        self.model.meta.wcs = new
        self._use(new)
        self.v2, self.v3 = (np.asarray(v, float) for v in self._to_frame(self.x, self.y))


def _lead_to(src: Exposure, dst: Exposure, x: np.ndarray, y: np.ndarray):
    """Points of ``src``'s tangent plane in ``dst``'s, through the sky."""
    return dst.plane(*dst.to_frame(*src.to_sky(*src.from_plane(x, y))))


def _convert(src: Exposure, dst: Exposure, matrix: np.ndarray, shift: np.ndarray):
    """The affine ``p -> matrix p + shift`` of ``src``'s plane, in ``dst``'s plane.

    The map between the planes is linearised about ``dst``'s origin.
    """
    if src is dst:
        return matrix, shift
    p0 = np.array(_lead_to(dst, src, np.zeros(1), np.zeros(1)), float)[:, 0]
    s = 10.0  # arcsec
    px, py = p0[0] + np.array([0.0, s, 0.0]), p0[1] + np.array([0.0, 0.0, s])
    qx, qy = _lead_to(src, dst, px, py)
    lin = np.array([[qx[1] - qx[0], qx[2] - qx[0]], [qy[1] - qy[0], qy[2] - qy[0]]]) / s
    q0 = np.array([qx[0], qy[0]])
    m = lin @ matrix @ np.linalg.inv(lin)
    return m, lin @ (matrix @ p0 + shift - p0) + q0 - m @ q0


def _result(name: str, fit: dict | None, nmatch: int, cfg: MatchConfig, status: str) -> AlignResult:
    if fit is None:
        return AlignResult(name, status, nmatches=nmatch)
    res = AlignResult(
        name,
        "SUCCESS",
        nmatches=nmatch,
        rms_mas=1000.0 * float(fit["rmse"]),
        shift_arcsec=(float(fit["shift"][0]), float(fit["shift"][1])),
        rotation_deg=float(fit["proper_rot"]),
        scale=float(fit["<scale>"]),
    )
    limit = cfg.searchrad + math.hypot(cfg.xoffset, cfg.yoffset)
    if not res.rms_mas <= 1000.0 * cfg.tolerance:
        res.status = f"REFUSED: rms {res.rms_mas:.1f} mas > tolerance {cfg.tolerance} arcsec"
    elif not math.hypot(*res.shift_arcsec) <= limit:
        res.status = f"REFUSED: shift {math.hypot(*res.shift_arcsec):.3f} arcsec > {limit:g}"
    return res


def _fit_group(members: list[Exposure], ref_ra: np.ndarray, ref_dec: np.ndarray,
               cfg: MatchConfig) -> tuple[dict | None, int, str, np.ndarray]:  # fmt: skip
    """Match and fit one group to reference sky positions in its first member's plane."""
    lead = members[0]
    rx, ry = lead.plane(*lead.to_frame(ref_ra, ref_dec))
    points = [lead.plane(*lead.to_frame(*m.sky())) for m in members]
    ix = np.concatenate([p[0] for p in points])
    iy = np.concatenate([p[1] for p in points])
    matched = np.zeros(ix.size, bool)
    if ix.size == 0 or rx.size == 0:
        return None, 0, "FAILED: empty source catalog", matched
    match = XYXYMatch(searchrad=cfg.searchrad, separation=cfg.separation,
                      use2dhist=cfg.use2dhist, tolerance=cfg.tolerance, xoffset=cfg.xoffset,
                      yoffset=cfg.yoffset)  # fmt: skip
    try:
        ri, ii = match(Table({"TPx": rx, "TPy": ry}), Table({"TPx": ix, "TPy": iy}),
                       tp_pscale=lead.pixel_scale, tp_units="arcsec")  # fmt: skip
    except MatchSourceConfusionError as exc:
        return None, 0, f"FAILED: {exc}", matched
    ri, ii = np.asarray(ri, int), np.asarray(ii, int)
    matched[ii] = True
    if ii.size < max(cfg.minobj, 2):
        return None, int(ii.size), f"FAILED: {ii.size} matches < minobj={cfg.minobj}", matched
    xy = np.column_stack([rx[ri], ry[ri]])
    uv = np.column_stack([ix[ii], iy[ii]])
    try:
        fit = iter_linear_fit(xy, uv, fitgeom=cfg.fitgeometry, nclip=cfg.nclip,
                              sigma=(cfg.sigma, "rmse"))  # fmt: skip
    except (ValueError, np.linalg.LinAlgError) as exc:
        return None, int(ii.size), f"FAILED: {exc}", matched
    return fit, int(ii.size), "SUCCESS", matched


def _apply_fit(members: list[Exposure], fit: dict) -> None:
    matrix = np.asarray(fit["matrix"], float)
    center = np.asarray(fit["center"], float)
    shift = np.asarray(fit["shift"], float) + center - matrix @ center
    for m in members:
        mm, ss = _convert(members[0], m, matrix, shift)
        m.apply(mm, ss)


def _log(label: str, r: AlignResult) -> None:
    if r.applied:
        log.info("tweakreg %s: %s: %d matches, rms %.2f mas, shift (%.4f, %.4f) arcsec, "
                 "rotation %.2e deg, scale %.8f", label, r.name, r.nmatches, r.rms_mas,
                 r.shift_arcsec[0], r.shift_arcsec[1], r.rotation_deg, r.scale)  # fmt: skip
    elif r.status != "REFERENCE":
        log.warning("tweakreg %s: %s: fit not applied, WCS left unchanged (%s)", label, r.name,
                    r.status)  # fmt: skip


def _groups(exposures: Sequence[Exposure]) -> list[list[Exposure]]:
    out: dict[str, list[Exposure]] = {}
    for e in exposures:
        out.setdefault(e.group, []).append(e)
    return list(out.values())


def _overlap(a: list[Exposure], b: list[Exposure], memo: dict | None = None) -> int:
    """Sources of ``a`` falling on ``b``'s arrays (a cheap overlap measure).

    ``memo``: counts of exposure pairs already measured, kept by the caller; a count is
    reused only while both exposures still have the WCS it was measured through.
    """
    count = 0
    for e in a:
        for f in b:
            key = (id(e), id(f))
            known = memo.get(key) if memo is not None else None
            if known is not None and known[0] is e._wcs and known[1] is f._wcs:
                count += known[2]
                continue
            ra, dec = e.sky()
            n = int(np.count_nonzero(f.inside(ra, dec)))
            if memo is not None:
                memo[key] = (e._wcs, f._wcs, n)
            count += n
    return count


def _align_group(group, ref_ra, ref_dec, cfg, label, results) -> bool:
    fit, nmatch, status, _ = _fit_group(group, ref_ra, ref_dec, cfg)
    res = [_result(e.name, fit, nmatch, cfg, status) for e in group]
    accepted = all(r.status == "SUCCESS" for r in res)
    if accepted:
        _apply_fit(group, fit)
    for e, r in zip(group, res):
        r.applied = accepted
        results[id(e)] = r
        _log(label, r)
    return accepted


def relative_align(
    exposures: Sequence[Exposure],
    cfg: MatchConfig,
    *,
    enforce_user_order: bool = False,
    expand_refcat: bool = False,
) -> list[AlignResult]:
    """Align the exposure groups to each other (see the module docstring)."""
    groups = _groups(exposures)
    results: dict[int, AlignResult] = {}
    memo: dict = {}  # overlap counts of exposure pairs, while their WCSs are unchanged
    if not enforce_user_order and len(groups) > 2:
        cover = [[_overlap(g, h, memo) if g is not h else 0 for h in groups] for g in groups]
        first = int(np.argmax([sum(row) for row in cover]))
        groups.insert(0, groups.pop(first))
    ref = groups[0]
    for e in ref:
        results[id(e)] = AlignResult(e.name, "REFERENCE")
    sky = [e.sky() for e in ref]
    ref_ra = np.concatenate([s[0] for s in sky])
    ref_dec = np.concatenate([s[1] for s in sky])
    done, todo = [ref], groups[1:]
    while todo:
        if enforce_user_order:
            group = todo.pop(0)
        else:
            scores = [sum(_overlap(g, d, memo) for d in done) for g in todo]
            group = todo.pop(int(np.argmax(scores)))
        accepted = _align_group(group, ref_ra, ref_dec, cfg, "relative", results)
        done.append(group)
        if expand_refcat and accepted:
            for e in group:
                ra, dec = e.sky()
                new = np.ones(ra.size, bool)
                if ref_ra.size:
                    ex, ey = e.plane(*e.to_frame(ref_ra, ref_dec))
                    px, py = e.plane(e.v2, e.v3)
                    d = np.hypot(px[:, None] - ex[None, :], py[:, None] - ey[None, :])
                    new = d.min(axis=1) > cfg.tolerance
                ref_ra, ref_dec = np.append(ref_ra, ra[new]), np.append(ref_dec, dec[new])
    return [results[id(e)] for e in exposures]


def absolute_align(
    exposures: Sequence[Exposure], refcat: Table, cfg: MatchConfig
) -> list[AlignResult]:
    """Align all exposures, as one group, to the sky positions of ``refcat``."""
    results: dict[int, AlignResult] = {}
    ra, dec = np.asarray(refcat["RA"], float), np.asarray(refcat["DEC"], float)
    _align_group(list(exposures), ra, dec, cfg, "absolute", results)
    return [results[id(e)] for e in exposures]
