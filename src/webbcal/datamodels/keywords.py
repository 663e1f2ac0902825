"""The keyword table: where each metadata path lives in a JWST FITS file.

One line per entry::

    <meta path>  <FITS keyword>  <HDU>  <python type>

The meta path is relative to ``model.meta``; the HDU is ``PRIMARY`` or an EXTNAME; the type
is one of ``str``, ``int``, ``float``, ``bool``. Values are read from and written to exactly
that header. The placements follow the official JWST data-model schemas (keywords that
describe the exposure live in the primary header; those that describe the SCI array --
WCS, photometry, ephemeris, MJD/TDB times, units -- live in the SCI header).

A class can move entries (``DataModel.keyword_hdus``, e.g. reference files carry PIXAR_SR in
the primary header) or add its own (``DataModel.extra_keywords``, e.g. the FGS guider tables).
The SIP distortion coefficients (``wcsinfo.a_2_0`` ... ``wcsinfo.bp_6_0``) are generated below
rather than listed. Paths that are not in the table (``meta.wcs``, ``meta.asn.exptype`` ...) are
kept in the ASDF extension only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KEYWORDS", "Keyword", "by_path", "parse_table"]

_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


@dataclass(frozen=True)
class Keyword:
    """One metadata path and its FITS home.

    Parameters
    ----------
    path : str
        Dotted path below ``meta``, e.g. ``"exposure.nints"``.
    keyword : str
        The FITS keyword, e.g. ``"NINTS"``.
    hdu : str
        ``"PRIMARY"`` or the EXTNAME of the header holding the keyword.
    type : type
        ``str``, ``int``, ``float`` or ``bool``.
    """

    path: str
    keyword: str
    hdu: str
    type: type

    def coerce(self, value):
        """Convert a header value to this entry's type where that loses nothing."""
        if value is None or (isinstance(value, self.type) and not (
            self.type is int and isinstance(value, bool)
        )):
            return value
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if self.type is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.type is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value


def parse_table(text: str) -> tuple[Keyword, ...]:
    """Parse a keyword table in the format of this module's ``_TABLE``."""
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        path, keyword, hdu, typename = line.split()
        rows.append(Keyword(path, keyword, hdu, _TYPES[typename]))
    return tuple(rows)


def _sip_keywords() -> tuple[Keyword, ...]:
    """SIP polynomial coefficients A_i_j, B_i_j, AP_i_j, BP_i_j with 2 <= i + j <= 6."""
    rows = []
    for prefix in ("a", "b", "ap", "bp"):
        for i in range(7):
            for j in range(7):
                if 2 <= i + j <= 6:
                    name = f"{prefix}_{i}_{j}"
                    rows.append(Keyword(f"wcsinfo.{name}", name.upper(), "SCI", float))
    return tuple(rows)


_TABLE = """
# file-level
date                                DATE      PRIMARY      str
origin                              ORIGIN    PRIMARY      str
time_sys                            TIMESYS   PRIMARY      str
time_unit                           TIMEUNIT  PRIMARY      str
filename                            FILENAME  PRIMARY      str
data_processing_software_version    SDP_VER   PRIMARY      str
prd_software_version                PRD_VER   PRIMARY      str
oss_software_version                OSS_VER   PRIMARY      str
guide_star_catalog_version          GSC_VER   PRIMARY      str
calibration_software_version        CAL_VER   PRIMARY      str
calibration_software_revision       CAL_VCS   PRIMARY      str
model_type                          DATAMODL  PRIMARY      str
telescope                           TELESCOP  PRIMARY      str
hga_move                            HGA_MOVE  PRIMARY      bool
hga_start_time                      HGA_STRT  PRIMARY      str
hga_stop_time                       HGA_STOP  PRIMARY      str
pwfseet                             PWFSEET   PRIMARY      float
nwfsest                             NWFSEST   PRIMARY      float
compress                            COMPRESS  PRIMARY      bool
tweakreg_catalog                    TCATFILE  PRIMARY      str
source_catalog                      SCATFILE  PRIMARY      str
segmentation_map                    SEGMFILE  PRIMARY      str
direct_image                        DIRIMAGE  PRIMARY      str
bunit_data                          BUNIT     SCI          str
bunit_err                           BUNIT     ERR          str
author                              AUTHOR    PRIMARY      str
description                         DESCRIP   PRIMARY      str
filetype                            FILETYPE  PRIMARY      str
pedigree                            PEDIGREE  PRIMARY      str
reftype                             REFTYPE   PRIMARY      str
useafter                            USEAFTER  PRIMARY      str
# asn
asn.pool_name                       ASNPOOL   PRIMARY      str
asn.table_name                      ASNTABLE  PRIMARY      str
# program
program.title                       TITLE     PRIMARY      str
program.pi_name                     PI_NAME   PRIMARY      str
program.category                    CATEGORY  PRIMARY      str
program.sub_category                SUBCAT    PRIMARY      str
program.science_category            SCICAT    PRIMARY      str
program.continuation_id             CONT_ID   PRIMARY      int
# observation
observation.date                    DATE-OBS  PRIMARY      str
observation.time                    TIME-OBS  PRIMARY      str
observation.date_beg                DATE-BEG  PRIMARY      str
observation.date_end                DATE-END  PRIMARY      str
observation.obs_id                  OBS_ID    PRIMARY      str
observation.visit_id                VISIT_ID  PRIMARY      str
observation.program_number          PROGRAM   PRIMARY      str
observation.observation_number      OBSERVTN  PRIMARY      str
observation.visit_number            VISIT     PRIMARY      str
observation.visit_group             VISITGRP  PRIMARY      str
observation.sequence_id             SEQ_ID    PRIMARY      str
observation.activity_id             ACT_ID    PRIMARY      str
observation.exposure_number         EXPOSURE  PRIMARY      str
observation.bkgdtarg                BKGDTARG  PRIMARY      bool
observation.template                TEMPLATE  PRIMARY      str
observation.observation_label       OBSLABEL  PRIMARY      str
observation.observation_folder      OBSFOLDR  PRIMARY      str
# visit
visit.engineering_quality           ENG_QUAL  PRIMARY      str
visit.engdb_pointing_quality        ENGQLPTG  PRIMARY      str
visit.type                          VISITYPE  PRIMARY      str
visit.start_time                    VSTSTART  PRIMARY      str
visit.status                        VISITSTA  PRIMARY      str
visit.total_exposures               NEXPOSUR  PRIMARY      int
visit.internal_target               INTARGET  PRIMARY      bool
visit.too_visit                     TARGOOPP  PRIMARY      bool
visit.tsovisit                      TSOVISIT  PRIMARY      bool
visit.exp_only                      EXP_ONLY  PRIMARY      bool
visit.crowded_field                 CROWDFLD  PRIMARY      bool
# target
target.proposer_name                TARGPROP  PRIMARY      str
target.catalog_name                 TARGNAME  PRIMARY      str
target.type                         TARGTYPE  PRIMARY      str
target.category                     TARGCAT   PRIMARY      str
target.description                  TARGDESC  PRIMARY      str
target.ra                           TARG_RA   PRIMARY      float
target.dec                          TARG_DEC  PRIMARY      float
target.ra_uncertainty               TARGURA   PRIMARY      float
target.dec_uncertainty              TARGUDEC  PRIMARY      float
target.proper_motion_ra             MU_RA     PRIMARY      float
target.proper_motion_dec            MU_DEC    PRIMARY      float
target.proper_motion_epoch          MU_EPOCH  PRIMARY      str
target.proposer_ra                  PROP_RA   PRIMARY      float
target.proposer_dec                 PROP_DEC  PRIMARY      float
target.source_type_apt              SRCTYAPT  PRIMARY      str
target.source_type                  SRCTYPE   SCI          str
# instrument
instrument.name                     INSTRUME  PRIMARY      str
instrument.detector                 DETECTOR  PRIMARY      str
instrument.module                   MODULE    PRIMARY      str
instrument.channel                  CHANNEL   PRIMARY      str
instrument.filter                   FILTER    PRIMARY      str
instrument.filter_wheel_offset      FWPOSOFF  PRIMARY      float
instrument.filter_wheel_tolerance   FWPOSTOL  PRIMARY      str
instrument.pupil                    PUPIL     PRIMARY      str
instrument.pupil_imaging_lens       PILIN     PRIMARY      bool
instrument.pupil_wheel_offset       PWPOSOFF  PRIMARY      float
instrument.pupil_wheel_tolerance    PWPOSTOL  PRIMARY      str
instrument.grating                  GRATING   PRIMARY      str
instrument.band                     BAND      PRIMARY      str
instrument.fixed_slit               FXD_SLIT  PRIMARY      str
instrument.focus_position           FOCUSPOS  PRIMARY      float
instrument.pre_image_id             PREIMAGE  PRIMARY      str
instrument.miri_fpe_side            FPE_SIDE  PRIMARY      str
instrument.miri_ice_side            ICE_SIDE  PRIMARY      str
instrument.ccc_state                CCCSTATE  PRIMARY      str
instrument.coronagraph              CORONMSK  PRIMARY      str
instrument.msa_state                MSASTATE  PRIMARY      str
instrument.msa_metadata_file        MSAMETFL  PRIMARY      str
instrument.msa_metadata_id          MSAMETID  PRIMARY      int
instrument.msa_configuration_id     MSACONID  PRIMARY      int
instrument.lamp_state               LAMP      PRIMARY      str
instrument.lamp_mode                OPMODE    PRIMARY      str
instrument.gwa_xtilt                GWA_XTIL  PRIMARY      float
instrument.gwa_ytilt                GWA_YTIL  PRIMARY      float
instrument.gwa_xp_v                 GWA_XP_V  PRIMARY      float
instrument.gwa_yp_v                 GWA_YP_V  PRIMARY      float
instrument.gwa_pxav                 GWA_PXAV  PRIMARY      float
instrument.gwa_pyav                 GWA_PYAV  PRIMARY      float
instrument.gwa_tilt                 GWA_TILT  PRIMARY      float
instrument.filter_position          FWCPOS    PRIMARY      float
instrument.pupil_position           PWCPOS    PRIMARY      float
instrument.p_band                   P_BAND    PRIMARY      str
instrument.p_channel                P_CHANNE  PRIMARY      str
instrument.p_filter                 P_FILTER  PRIMARY      str
instrument.p_grating                P_GRATIN  PRIMARY      str
instrument.p_pupil                  P_PUPIL   PRIMARY      str
instrument.p_detector               P_DETECT  PRIMARY      str
# exposure
exposure.count                      EXPCOUNT  PRIMARY      int
exposure.prime_parallel             EXPRIPAR  PRIMARY      str
exposure.type                       EXP_TYPE  PRIMARY      str
exposure.start_time                 EXPSTART  PRIMARY      float
exposure.start_time_mjd             MJD-BEG   SCI          float
exposure.mid_time                   EXPMID    PRIMARY      float
exposure.mid_time_mjd               MJD-AVG   SCI          float
exposure.end_time                   EXPEND    PRIMARY      float
exposure.end_time_mjd               MJD-END   SCI          float
exposure.start_time_tdb             TDB-BEG   SCI          float
exposure.mid_time_tdb               TDB-MID   SCI          float
exposure.end_time_tdb               TDB-END   SCI          float
exposure.start_time_eng             EXPSTENG  PRIMARY      str
exposure.osf_file                   OSF_FILE  PRIMARY      str
exposure.readpatt                   READPATT  PRIMARY      str
exposure.hybrid_full_frame          HYBRIDFF  PRIMARY      bool
exposure.segment_number             EXSEGNUM  PRIMARY      int
exposure.segment_total              EXSEGTOT  PRIMARY      int
exposure.noutputs                   NOUTPUTS  PRIMARY      int
exposure.nints                      NINTS     PRIMARY      int
exposure.integration_start          INTSTART  PRIMARY      int
exposure.integration_end            INTEND    PRIMARY      int
exposure.ngroups                    NGROUPS   PRIMARY      int
exposure.nframes                    NFRAMES   PRIMARY      int
exposure.miri_fsw_ngroups           MIRNGRPS  PRIMARY      int
exposure.miri_fsw_nframes           MIRNFRMS  PRIMARY      int
exposure.detmode                    DETMODE   PRIMARY      str
exposure.cmd_tsel                   CMD_TSEL  PRIMARY      str
exposure.frame_divisor              FRMDIVSR  PRIMARY      int
exposure.groupgap                   GROUPGAP  PRIMARY      int
exposure.drop_frames1               DRPFRMS1  PRIMARY      int
exposure.drop_frames3               DRPFRMS3  PRIMARY      int
exposure.nsamples                   NSAMPLES  PRIMARY      int
exposure.sample_time                TSAMPLE   PRIMARY      float
exposure.frame_time                 TFRAME    PRIMARY      float
exposure.group_time                 TGROUP    PRIMARY      float
exposure.integration_time           EFFINTTM  PRIMARY      float
exposure.exposure_time              EFFEXPTM  PRIMARY      float
exposure.effective_exposure_time    XPOSURE   SCI          float
exposure.measurement_time           TMEASURE  PRIMARY      float
exposure.duration                   DURATION  PRIMARY      float
exposure.elapsed_exposure_time      TELAPSE   SCI          float
exposure.nresets_at_start           NRSTSTRT  PRIMARY      int
exposure.nresets_between_ints       NRESETS   PRIMARY      int
exposure.zero_frame                 ZEROFRAM  PRIMARY      bool
exposure.data_problem               DATAPROB  PRIMARY      bool
exposure.sca_num                    SCA_NUM   PRIMARY      int
exposure.datamode                   DATAMODE  PRIMARY      int
exposure.nrs_normal                 NRS_NORM  PRIMARY      int
exposure.nrs_reference              NRS_REF   PRIMARY      int
exposure.clock_adjust_rate          SCTARATE  PRIMARY      float
exposure.gain_factor                GAINFACT  PRIMARY      float
exposure.imprint                    IS_IMPRT  PRIMARY      bool
exposure.psf_reference              IS_PSF    PRIMARY      bool
exposure.self_reference_survey      SELFREF   PRIMARY      bool
exposure.primary_cosmic_rays        PRIMECRS  PRIMARY      float
exposure.extended_emission_events   EXTNCRS   PRIMARY      float
exposure.average_dark_current       AVDRKCUR  PRIMARY      float
exposure.p_exptype                  P_EXP_TY  PRIMARY      str
exposure.p_readpatt                 P_READPA  PRIMARY      str
# subarray
subarray.name                       SUBARRAY  PRIMARY      str
subarray.subarray_short             SUB_SHRT  PRIMARY      str
subarray.subarray_long              SUB_LONG  PRIMARY      str
subarray.xstart                     SUBSTRT1  PRIMARY      int
subarray.ystart                     SUBSTRT2  PRIMARY      int
subarray.xsize                      SUBSIZE1  PRIMARY      int
subarray.ysize                      SUBSIZE2  PRIMARY      int
subarray.fastaxis                   FASTAXIS  PRIMARY      int
subarray.slowaxis                   SLOWAXIS  PRIMARY      int
subarray.detxcor                    DETXCOR   PRIMARY      int
subarray.detycor                    DETYCOR   PRIMARY      int
subarray.detxsiz                    DETXSIZ   PRIMARY      int
subarray.detysiz                    DETYSIZ   PRIMARY      int
subarray.multistripe_reads1         MSTR_RD1  PRIMARY      int
subarray.multistripe_skips1         MSTR_SK1  PRIMARY      int
subarray.multistripe_reads2         MSTR_RD2  PRIMARY      int
subarray.multistripe_skips2         MSTR_SK2  PRIMARY      int
subarray.repeat_stripe              MSTR_RPT  PRIMARY      int
subarray.interleave_reads1          MSTR_ILV  PRIMARY      int
subarray.superstripe_step           SSTR_STP  PRIMARY      int
subarray.num_superstripe            SSTR_NST  PRIMARY      int
subarray.p_subarray                 P_SUBARR  PRIMARY      str
# dither
dither.primary_type                 PATTTYPE  PRIMARY      str
dither.primary_dither_type          PRIDTYPE  PRIMARY      str
dither.primary_points               PRIDTPTS  PRIMARY      int
dither.position_number              PATT_NUM  PRIMARY      int
dither.pattern_start                PATTSTRT  PRIMARY      int
dither.total_points                 NUMDTHPT  PRIMARY      int
dither.total_cycling_points         PATTNPTS  PRIMARY      int
dither.dither_points                NRIMDTPT  PRIMARY      int
dither.nod_type                     NOD_TYPE  PRIMARY      str
dither.pattern_size                 PATTSIZE  PRIMARY      str
dither.small_grid_pattern           SMGRDPAT  PRIMARY      str
dither.subpixel_total_points        SUBPXPTS  PRIMARY      int
dither.subpixel_pattern             SUBPXPAT  PRIMARY      str
dither.spectral_position_number     SPEC_NUM  PRIMARY      int
dither.spectral_total_points        SPECNSTP  PRIMARY      int
dither.spectral_step_size           SPECSTEP  PRIMARY      float
dither.spectral_offset              SPCOFFST  PRIMARY      float
dither.spatial_position_number      SPAT_NUM  PRIMARY      int
dither.spatial_total_points         SPATNSTP  PRIMARY      int
dither.spatial_step_size            SPATSTEP  PRIMARY      float
dither.spatial_offset               SPTOFFST  PRIMARY      float
dither.x_offset                     XOFFSET   PRIMARY      float
dither.y_offset                     YOFFSET   PRIMARY      float
dither.starting_set                 DSETSTRT  PRIMARY      int
dither.number_of_sets               NUMDSETS  PRIMARY      int
dither.direction                    DITHDIRC  PRIMARY      str
dither.optimized_for                DITHOPFR  PRIMARY      str
dither.sparse_points                DITHPNTS  PRIMARY      str
dither.primary_channel              MRSPRCHN  PRIMARY      str
dither.dithered_ra                  DITH_RA   PRIMARY      float
dither.dithered_dec                 DITH_DEC  PRIMARY      float
# ephemeris
ephemeris.reference_frame           REFFRAME  SCI          str
ephemeris.type                      EPH_TYPE  SCI          str
ephemeris.time                      EPH_TIME  SCI          float
ephemeris.spatial_x_bary            JWST_X    SCI          float
ephemeris.spatial_y_bary            JWST_Y    SCI          float
ephemeris.spatial_z_bary            JWST_Z    SCI          float
ephemeris.spatial_x_geo             OBSGEO-X  SCI          float
ephemeris.spatial_y_geo             OBSGEO-Y  SCI          float
ephemeris.spatial_z_geo             OBSGEO-Z  SCI          float
ephemeris.velocity_x_bary           JWST_DX   SCI          float
ephemeris.velocity_y_bary           JWST_DY   SCI          float
ephemeris.velocity_z_bary           JWST_DZ   SCI          float
ephemeris.velocity_x_geo            OBSGEODX  SCI          float
ephemeris.velocity_y_geo            OBSGEODY  SCI          float
ephemeris.velocity_z_geo            OBSGEODZ  SCI          float
# aperture
aperture.name                       APERNAME  PRIMARY      str
aperture.pps_name                   PPS_APER  PRIMARY      str
aperture.position_angle             PA_APER   SCI          float
# velocity_aberration
velocity_aberration.va_ra_ref       VA_RA     PRIMARY      float
velocity_aberration.va_dec_ref      VA_DEC    PRIMARY      float
velocity_aberration.scale_factor    VA_SCALE  SCI          float
# time
time.barycentric_correction         BARTDELT  PRIMARY      float
time.barycentric_expstart           BSTRTIME  PRIMARY      float
time.barycentric_expend             BENDTIME  PRIMARY      float
time.barycentric_expmid             BMIDTIME  PRIMARY      float
time.heliocentric_correction        HELIDELT  PRIMARY      float
time.heliocentric_expstart          HSTRTIME  PRIMARY      float
time.heliocentric_expend            HENDTIME  PRIMARY      float
time.heliocentric_expmid            HMIDTIME  PRIMARY      float
# nircam_focus
nircam_focus.fam_la1                FAM_LA1   PRIMARY      int
nircam_focus.fastep1                FASTEP1   PRIMARY      int
nircam_focus.faunit1                FAUNIT1   PRIMARY      float
nircam_focus.faphase1               FAPHASE1  PRIMARY      str
nircam_focus.fa1value               FA1VALUE  PRIMARY      int
nircam_focus.fam_la2                FAM_LA2   PRIMARY      int
nircam_focus.fastep2                FASTEP2   PRIMARY      int
nircam_focus.faunit2                FAUNIT2   PRIMARY      float
nircam_focus.faphase2               FAPHASE2  PRIMARY      str
nircam_focus.fa2value               FA2VALUE  PRIMARY      int
nircam_focus.fam_la3                FAM_LA3   PRIMARY      int
nircam_focus.fastep3                FASTEP3   PRIMARY      int
nircam_focus.faunit3                FAUNIT3   PRIMARY      float
nircam_focus.faphase3               FAPHASE3  PRIMARY      str
nircam_focus.fa3value               FA3VALUE  PRIMARY      int
# nirspec_wfsc
nirspec_wfsc.rma_pos                RMA_POS   PRIMARY      int
nirspec_wfsc.rma_step               FCSRLPOS  PRIMARY      int
# guidestar
guidestar.gs_order                  GS_ORDER  PRIMARY      int
guidestar.gs_start_time             GSSTRTTM  PRIMARY      str
guidestar.gs_stop_time              GSENDTIM  PRIMARY      str
guidestar.gs_id                     GDSTARID  PRIMARY      str
guidestar.gs_ra                     GS_RA     PRIMARY      float
guidestar.gs_dec                    GS_DEC    PRIMARY      float
guidestar.gs_ura                    GS_URA    PRIMARY      float
guidestar.gs_udec                   GS_UDEC   PRIMARY      float
guidestar.gs_mag                    GS_MAG    PRIMARY      float
guidestar.gs_umag                   GS_UMAG   PRIMARY      float
guidestar.gs_v3_pa_science          GS_V3_PA  PRIMARY      float
guidestar.gs_pcs_mode               PCS_MODE  PRIMARY      str
guidestar.visit_end_time            VISITEND  PRIMARY      str
guidestar.gs_function_start_time    GF_START  PRIMARY      str
guidestar.gs_function_end_time      GF_END    PRIMARY      str
guidestar.fgs_aperture              FGS_APER  PRIMARY      str
guidestar.gs_ideal_x                GSIDL_X   PRIMARY      float
guidestar.gs_ideal_y                GSIDL_Y   PRIMARY      float
guidestar.fgs_v2_ref                V2_REF    PRIMARY      float
guidestar.fgs_v3_ref                V3_REF    PRIMARY      float
guidestar.fgs_roll_ref              ROLL_REF  PRIMARY      float
guidestar.fgs_v3yangle              V3I_YANG  PRIMARY      float
guidestar.fgs_vparity               VPARITY   PRIMARY      int
guidestar.data_start                DATASTRT  PRIMARY      float
guidestar.data_end                  DATAEND   PRIMARY      float
guidestar.gs_acq_exec_stat          GSACSTAT  PRIMARY      str
guidestar.gs_ctd_x                  GSCENTX   PRIMARY      float
guidestar.gs_ctd_y                  GSCENTY   PRIMARY      float
guidestar.gs_epoch                  GS_EPOCH  PRIMARY      str
guidestar.gs_mura                   GS_MURA   PRIMARY      float
guidestar.gs_mudec                  GS_MUDEC  PRIMARY      float
guidestar.gs_para                   GS_PARA   PRIMARY      float
# ref_file
ref_file.crds.sw_version            CRDS_VER  PRIMARY      str
ref_file.crds.context_used          CRDS_CTX  PRIMARY      str
ref_file.area.name                  R_AREA    PRIMARY      str
ref_file.bkg.name                   R_BKG     PRIMARY      str
ref_file.badshutter.name            R_MSAOPE  PRIMARY      str
ref_file.barshadow.name             R_BARSHA  PRIMARY      str
ref_file.camera.name                R_CAMERA  PRIMARY      str
ref_file.chromcorr.name             R_CHRCOR  PRIMARY      str
ref_file.collimator.name            R_COLLIM  PRIMARY      str
ref_file.sirskernel.name            R_SIRSKL  PRIMARY      str
ref_file.cubepar.name               R_CUBPAR  PRIMARY      str
ref_file.dark.name                  R_DARK    PRIMARY      str
ref_file.disperser.name             R_DISPER  PRIMARY      str
ref_file.distortion.name            R_DISTOR  PRIMARY      str
ref_file.emicorr.name               R_MIREMI  PRIMARY      str
ref_file.extract1d.name             R_EXTR1D  PRIMARY      str
ref_file.filteroffset.name          R_FILOFF  PRIMARY      str
ref_file.flat.name                  R_FLAT    PRIMARY      str
ref_file.dflat.name                 R_DFLAT   PRIMARY      str
ref_file.fflat.name                 R_FFLAT   PRIMARY      str
ref_file.sflat.name                 R_SFLAT   PRIMARY      str
ref_file.fore.name                  R_FORE    PRIMARY      str
ref_file.fpa.name                   R_FPA     PRIMARY      str
ref_file.fringe.name                R_FRINGE  PRIMARY      str
ref_file.fringefreq.name            R_FRIFRQ  PRIMARY      str
ref_file.gain.name                  R_GAIN    PRIMARY      str
ref_file.ifufore.name               R_IFUFOR  PRIMARY      str
ref_file.ifupost.name               R_IFUPOS  PRIMARY      str
ref_file.ifuslicer.name             R_IFUSLI  PRIMARY      str
ref_file.ipc.name                   R_IPC     PRIMARY      str
ref_file.lastframe.name             R_LASTFR  PRIMARY      str
ref_file.linearity.name             R_LINEAR  PRIMARY      str
ref_file.mask.name                  R_MASK    PRIMARY      str
ref_file.msa.name                   R_MSA     PRIMARY      str
ref_file.mrsxartcorr.name           R_MRSXAR  PRIMARY      str
ref_file.mrsptcorr.name             R_MRSPT   PRIMARY      str
ref_file.nrm.name                   R_NRM     PRIMARY      str
ref_file.ote.name                   R_OTE     PRIMARY      str
ref_file.pastasoss.name             R_PSTSOS  PRIMARY      str
ref_file.pathloss.name              R_PTHLOS  PRIMARY      str
ref_file.persat.name                R_PERSAT  PRIMARY      str
ref_file.photom.name                R_PHOTOM  PRIMARY      str
ref_file.psfmask.name               R_PSFMAS  PRIMARY      str
ref_file.readnoise.name             R_READNO  PRIMARY      str
ref_file.refpix.name                R_REFPIX  PRIMARY      str
ref_file.regions.name               R_REGION  PRIMARY      str
ref_file.resample.name              R_RESAMP  PRIMARY      str
ref_file.resolution.name            R_RESOL   PRIMARY      str
ref_file.reset.name                 R_RESET   PRIMARY      str
ref_file.rscd.name                  R_RSCD    PRIMARY      str
ref_file.saturation.name            R_SATURA  PRIMARY      str
ref_file.speckernel.name            R_SPKERN  PRIMARY      str
ref_file.specprofile.name           R_SPPROF  PRIMARY      str
ref_file.spectrace.name             R_SPTRAC  PRIMARY      str
ref_file.specwcs.name               R_SPCWCS  PRIMARY      str
ref_file.straylight.name            R_STRAY   PRIMARY      str
ref_file.superbias.name             R_SUPERB  PRIMARY      str
ref_file.throughput.name            R_THRPUT  PRIMARY      str
ref_file.trapdensity.name           R_TRPDEN  PRIMARY      str
ref_file.trappars.name              R_TRPPAR  PRIMARY      str
ref_file.tso_photometry.name        R_TSPHOT  PRIMARY      str
ref_file.v2v3.name                  R_V2V3    PRIMARY      str
ref_file.wavecorr.name              R_WAVCOR  PRIMARY      str
ref_file.wavelengthrange.name       R_WAVRAN  PRIMARY      str
ref_file.wavemap.name               R_WAVMAP  PRIMARY      str
# cal_step
cal_step.adaptive_trace_model       S_TRCMOD  PRIMARY      str
cal_step.align_psfs                 S_PSFALI  PRIMARY      str
cal_step.ami_analyze                S_AMIANA  PRIMARY      str
cal_step.ami_normalize              S_AMINOR  PRIMARY      str
cal_step.assign_wcs                 S_WCS     PRIMARY      str
cal_step.assign_mtwcs               S_MTWCS   PRIMARY      str
cal_step.bkg_subtract               S_BKDSUB  PRIMARY      str
cal_step.badpix_selfcal             S_BPXSLF  PRIMARY      str
cal_step.barshadow                  S_BARSHA  PRIMARY      str
cal_step.charge_migration           S_CHGMIG  PRIMARY      str
cal_step.clean_flicker_noise        S_CLNFNS  PRIMARY      str
cal_step.combine_1d                 S_COMB1D  PRIMARY      str
cal_step.cube_build                 S_IFUCUB  PRIMARY      str
cal_step.dark_sub                   S_DARK    PRIMARY      str
cal_step.dq_init                    S_DQINIT  PRIMARY      str
cal_step.emicorr                    S_MIREMI  PRIMARY      str
cal_step.emission                   S_TELEMI  PRIMARY      str
cal_step.err_init                   S_ERRINI  PRIMARY      str
cal_step.extract_1d                 S_EXTR1D  PRIMARY      str
cal_step.extract_2d                 S_EXTR2D  PRIMARY      str
cal_step.firstframe                 S_FRSTFR  PRIMARY      str
cal_step.flat_field                 S_FLAT    PRIMARY      str
cal_step.fringe                     S_FRINGE  PRIMARY      str
cal_step.gain_scale                 S_GANSCL  PRIMARY      str
cal_step.group_scale                S_GRPSCL  PRIMARY      str
cal_step.guider_cds                 S_GUICDS  PRIMARY      str
cal_step.imprint                    S_IMPRNT  PRIMARY      str
cal_step.ipc                        S_IPC     PRIMARY      str
cal_step.jump                       S_JUMP    PRIMARY      str
cal_step.klip                       S_KLIP    PRIMARY      str
cal_step.lastframe                  S_LASTFR  PRIMARY      str
cal_step.linearity                  S_LINEAR  PRIMARY      str
cal_step.master_background          S_MSBSUB  PRIMARY      str
cal_step.msa_flagging               S_MSAFLG  PRIMARY      str
cal_step.outlier_detection          S_OUTLIR  PRIMARY      str
cal_step.pathloss                   S_PTHLOS  PRIMARY      str
cal_step.persistence                S_PERSIS  PRIMARY      str
cal_step.photom                     S_PHOTOM  PRIMARY      str
cal_step.picture_frame              S_PCTFRM  PRIMARY      str
cal_step.pixel_replace              S_PXREPL  PRIMARY      str
cal_step.ramp_fit                   S_RAMP    PRIMARY      str
cal_step.refpix                     S_REFPIX  PRIMARY      str
cal_step.resample                   S_RESAMP  PRIMARY      str
cal_step.residual_fringe            S_RESFRI  PRIMARY      str
cal_step.reset                      S_RESET   PRIMARY      str
cal_step.rscd                       S_RSCD    PRIMARY      str
cal_step.saturation                 S_SATURA  PRIMARY      str
cal_step.skymatch                   S_SKYMAT  PRIMARY      str
cal_step.source_catalog             S_SRCCAT  PRIMARY      str
cal_step.spectral_leak              S_SPLEAK  PRIMARY      str
cal_step.srctype                    S_SRCTYP  PRIMARY      str
cal_step.stack_psfs                 S_PSFSTK  PRIMARY      str
cal_step.straylight                 S_STRAY   PRIMARY      str
cal_step.superbias                  S_SUPERB  PRIMARY      str
cal_step.targ_centroid              S_TACNTR  PRIMARY      str
cal_step.tso_photometry             S_TSPHOT  PRIMARY      str
cal_step.tweakreg                   S_TWKREG  PRIMARY      str
cal_step.wavecorr                   S_WAVCOR  PRIMARY      str
cal_step.wfs_combine                S_WFSCOM  PRIMARY      str
cal_step.wfss_contam                S_CONTAM  PRIMARY      str
cal_step.white_light                S_WHTLIT  PRIMARY      str
# resample
resample.pointings                  NDRIZ     PRIMARY      int
resample.weight_type                RESWHT    PRIMARY      str
resample.pixfrac                    PIXFRAC   PRIMARY      float
resample.pixel_scale_ratio          PXSCLRT   PRIMARY      float
# rscd
rscd.ngroups_skip_int1              INT1SKIP  PRIMARY      int
rscd.ngroups_skip_int2p             INT2SKIP  PRIMARY      int
rscd.keep_bright_firstgroup_int1    INT1UGP1  PRIMARY      int
rscd.keep_bright_firstgroup_int2p   INT2UGP1  PRIMARY      int
rscd.keep_groups_saturation_int1    INT1BORS  PRIMARY      int
rscd.keep_groups_saturation_int2p   INT2BORS  PRIMARY      int
# soss_extract1d
soss_extract1d.width                SOSSWDTH  PRIMARY      float
soss_extract1d.tikhonov_factor      TIKFACTR  PRIMARY      float
soss_extract1d.delta_x              SOSSDLTX  PRIMARY      float
soss_extract1d.delta_y              SOSSDLTY  PRIMARY      float
soss_extract1d.theta                SOSSROTN  PRIMARY      float
soss_extract1d.oversampling         OVERSAMP  PRIMARY      float
soss_extract1d.threshold            THRESHLD  PRIMARY      float
# background
background.method                   BKGMETH   PRIMARY      str
background.level                    BKGLEVEL  PRIMARY      float
background.subtracted               BKGSUB    PRIMARY      bool
background.master_background_file   MASTERBG  PRIMARY      str
background.scaling_factor           BKGD_SCL  PRIMARY      float
# photometry
photometry.conversion_megajanskys   PHOTMJSR  SCI          float
photometry.conversion_microjanskys  PHOTUJA2  SCI          float
photometry.pixelarea_steradians     PIXAR_SR  SCI          float
photometry.pixelarea_arcsecsq       PIXAR_A2  SCI          float
# coordinates
coordinates.reference_frame         RADESYS   SCI          str
# pointing
pointing.ra_v1                      RA_V1     SCI          float
pointing.dec_v1                     DEC_V1    SCI          float
pointing.pa_v3                      PA_V3     SCI          float
# wcsinfo
wcsinfo.wcsaxes                     WCSAXES   SCI          int
wcsinfo.crpix1                      CRPIX1    SCI          float
wcsinfo.crpix2                      CRPIX2    SCI          float
wcsinfo.crpix3                      CRPIX3    SCI          float
wcsinfo.crval1                      CRVAL1    SCI          float
wcsinfo.crval2                      CRVAL2    SCI          float
wcsinfo.crval3                      CRVAL3    SCI          float
wcsinfo.ctype1                      CTYPE1    SCI          str
wcsinfo.ctype2                      CTYPE2    SCI          str
wcsinfo.ctype3                      CTYPE3    SCI          str
wcsinfo.cunit1                      CUNIT1    SCI          str
wcsinfo.cunit2                      CUNIT2    SCI          str
wcsinfo.cunit3                      CUNIT3    SCI          str
wcsinfo.cdelt1                      CDELT1    SCI          float
wcsinfo.cdelt2                      CDELT2    SCI          float
wcsinfo.cdelt3                      CDELT3    SCI          float
wcsinfo.pc1_1                       PC1_1     SCI          float
wcsinfo.pc1_2                       PC1_2     SCI          float
wcsinfo.pc1_3                       PC1_3     SCI          float
wcsinfo.pc2_1                       PC2_1     SCI          float
wcsinfo.pc2_2                       PC2_2     SCI          float
wcsinfo.pc2_3                       PC2_3     SCI          float
wcsinfo.pc3_1                       PC3_1     SCI          float
wcsinfo.pc3_2                       PC3_2     SCI          float
wcsinfo.pc3_3                       PC3_3     SCI          float
wcsinfo.cd1_1                       CD1_1     SCI          float
wcsinfo.cd1_2                       CD1_2     SCI          float
wcsinfo.cd2_1                       CD2_1     SCI          float
wcsinfo.cd2_2                       CD2_2     SCI          float
wcsinfo.ps3_0                       PS3_0     SCI          str
wcsinfo.ps3_1                       PS3_1     SCI          str
wcsinfo.s_region                    S_REGION  SCI          str
wcsinfo.waverange_start             WAVSTART  SCI          float
wcsinfo.waverange_end               WAVEND    SCI          float
wcsinfo.dispersion_direction        DISPAXIS  SCI          int
wcsinfo.spectral_order              SPORDER   SCI          int
wcsinfo.v2_ref                      V2_REF    SCI          float
wcsinfo.v3_ref                      V3_REF    SCI          float
wcsinfo.vparity                     VPARITY   SCI          int
wcsinfo.v3yangle                    V3I_YANG  SCI          float
wcsinfo.ra_ref                      RA_REF    SCI          float
wcsinfo.dec_ref                     DEC_REF   SCI          float
wcsinfo.roll_ref                    ROLL_REF  SCI          float
wcsinfo.velosys                     VELOSYS   SCI          float
wcsinfo.specsys                     SPECSYS   SCI          str
wcsinfo.siaf_xref_sci               XREF_SCI  SCI          float
wcsinfo.siaf_yref_sci               YREF_SCI  SCI          float
wcsinfo.mt_ra                       MT_RA     SCI          float
wcsinfo.mt_dec                      MT_DEC    SCI          float
wcsinfo.mt_avra                     MT_AVRA   SCI          float
wcsinfo.mt_avdec                    MT_AVDEC  SCI          float
wcsinfo.a_order                     A_ORDER   SCI          int
wcsinfo.b_order                     B_ORDER   SCI          int
wcsinfo.ap_order                    AP_ORDER  SCI          int
wcsinfo.bp_order                    BP_ORDER  SCI          int
# ifu
ifu.dq_extension                    MASKEXT   PRIMARY      str
ifu.error_extension                 ERREXT    PRIMARY      str
ifu.error_type                      ERRTYPE   ERR          str
ifu.flux_extension                  FLUXEXT   PRIMARY      str
ifu.roi_spatial                     ROIS      PRIMARY      float
ifu.roi_wave                        ROIW      PRIMARY      float
ifu.weight_power                    WPOWER    PRIMARY      float
ifu.weighting                       WTYPE     PRIMARY      str
"""


KEYWORDS: tuple[Keyword, ...] = parse_table(_TABLE) + _sip_keywords()
"""Every entry of the table, in writing order."""


def by_path() -> dict[str, Keyword]:
    """The table as a dict keyed by meta path."""
    return {k.path: k for k in KEYWORDS}
