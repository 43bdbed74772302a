"""The interpretation section of ``docs/benchmarks.md``, from this run's numbers.

The reasons given come from reading ``intake_earthscope.decode`` and ObsPy
1.5's ``Stream.merge``. The numbers are filled in from the run, so the
sentences stay true when the ratios move between runs.
"""

from __future__ import annotations

from cases import GAP_SEGMENTS
from results import CaseResult, format_ratio

# Bytes ours holds at its peak: the float64 day block for each requested
# sample, and the int32 samples of the one channel it is placing.
BLOCK_BYTES_PER_SAMPLE = 8
UNPACKED_BYTES_PER_SAMPLE = 4


def interpret(by_name: dict[str, CaseResult]) -> str:
    """Write the interpretation paragraphs."""
    paragraphs = [
        _floor_paragraph(by_name),
        _obspy_paragraph(by_name),
        _chunk_paragraph(by_name),
        _noise_paragraph(by_name),
    ]
    return "\n\n".join(paragraphs)


def _floor_paragraph(by_name: dict[str, CaseResult]) -> str:
    dense, gaps, small = by_name["b"], by_name["d"], by_name["a"]
    text = (
        f"**Against the floor.** Ours takes {_times(dense, 'ours', 'pymseed')} "
        "the time of pymseed's unpack of the same records on the dense "
        f"3-channel day (b) and {_times(gaps, 'ours', 'pymseed')} on the day "
        f"of {GAP_SEGMENTS:,} segments (d). On the 1 Hz day (a), whose runs "
        f"take a few milliseconds, it takes {_times(small, 'ours', 'pymseed')}. "
        "Ours can take less time than the floor because it decodes "
        "differently. Ours has libmseed only index the records while "
        "reading, then unpack the segments of one channel at a time into one "
        "array of the right size, in memory the thread reuses from read to "
        "read. pymseed's unpack has libmseed unpack each record on its own and "
        "append it to a segment buffer grown record by record. Beyond "
        "decoding, ours converts each sample once to float64 while writing "
        "it into the day block, which is allocated uninitialized, and "
        "writes NaN only where no sample landed. On case "
        f"(d), ours also reads and places {GAP_SEGMENTS:,} segments, about "
        "2 microseconds of Python each: the segments are read from libmseed "
        "into columns, not objects, and each is one slice copy into the block."
    )
    return text + _gap_sentence(by_name) + _memory_sentence(dense)


def _gap_sentence(by_name: dict[str, CaseResult]) -> str:
    gaps, gap_free = by_name["d"], by_name.get("e")
    if gap_free is None:
        return ""
    ratio = gaps.median("ours") / gap_free.median("ours")
    return (
        f" Those segments make ours take {format_ratio(ratio)}× as long on case "
        "(d) as on the gap-free day of as many samples (e)."
    )


def _memory_sentence(dense: CaseResult) -> str:
    ours = dense.peak_rss.get("ours")
    if ours is None:
        return ""
    per_channel = dense.case.grid.size
    samples = len(dense.case.traces) * per_channel
    expected = (
        samples * BLOCK_BYTES_PER_SAMPLE + per_channel * UNPACKED_BYTES_PER_SAMPLE
    )
    return (
        f" The peak memory of ours on case (b) rose by {ours / 1e6:,.0f} MB, "
        f"{format_ratio(dense.memory_ratio('ours', 'pymseed'))} times the "
        f"unpack's: the float64 block of {samples / 1e6:.1f} M samples and the "
        f"int32 samples of one channel make {expected / 1e6:,.0f} MB."
    )


def _obspy_paragraph(by_name: dict[str, CaseResult]) -> str:
    dense, subset, gaps = by_name["b"], by_name["c"], by_name["d"]
    text = (
        "**Against ObsPy.** On the dense day with every channel requested (b), "
        f"ours takes {_times(dense, 'ours', 'obspy')} the ObsPy path's time. "
        "Both decode with libmseed and convert each sample once to float64; "
        "ours gains by unpacking into arrays of the right size at once and "
        "by writing the block once. It gains more where it does less "
        "work. With 1 of 6 channels requested (c), the ObsPy path takes "
        f"{_times(subset, 'obspy', 'ours')} the time of ours, because libmseed "
        "skips the other channels' records for ours while `obspy.read` "
        "decodes them all."
    )
    if "obspy_sourcename" in subset.wall:
        text += (
            " A user who passes `sourcename=` to `obspy.read` gets most of "
            f"that back: it then takes {_times(subset, 'obspy_sourcename', 'ours')}"
            " the time of ours."
        )
    text += (
        f" With {GAP_SEGMENTS:,} segments (d), the ObsPy path takes "
        f"{_times(gaps, 'obspy', 'ours')} the time of ours. `Stream.merge` "
        "joins a channel's traces one at a time (`Trace.__add__` concatenates "
        f"the growing masked array {GAP_SEGMENTS - 1:,} times), so its time "
        "grows with the square of the number of segments, while ours writes "
        "each segment once into the preallocated day block."
    )
    return text + _obspy_memory_sentence(dense, subset)


def _obspy_memory_sentence(dense: CaseResult, subset: CaseResult) -> str:
    full_day = dense.memory_ratio("ours", "obspy")
    one_channel = subset.memory_ratio("ours", "obspy")
    if full_day is None or one_channel is None:
        return ""
    return (
        f" In peak memory, ours needs {format_ratio(full_day)} times the ObsPy "
        f"path's rise on case (b) and {format_ratio(one_channel)} times on "
        "case (c), where ObsPy holds all six decoded channels."
    )


def _chunk_paragraph(by_name: dict[str, CaseResult]) -> str:
    dense, subset = by_name["b"], by_name["c"]
    text = (
        "**The chunk path.** `read_unit` plus `finish_chunk` takes "
        f"{_times(dense, 'chunk', 'ours')} the time of `decode_and_place` "
        f"alone on case (b) and {_times(subset, 'chunk', 'ours')} on case (c). "
        "Beyond `decode_and_place`, it reads the file through fsspec and "
        "computes the outcome arrays: `finish_chunk` makes further passes "
        "over the day block (`~np.isnan`, valid fraction, gap runs), and "
        "`read_unit` walks the record boundaries once to tell truncated or "
        "damaged objects."
    )
    ratios = (dense.time_ratio("chunk", "ours"), subset.time_ratio("chunk", "ours"))
    if any(ratio is not None and ratio < 1 for ratio in ratios):
        text += (
            " The chunk path runs `decode_and_place` itself, so a ratio below "
            "1 here is run-to-run noise, not a saving."
        )
    return text


def _noise_paragraph(by_name: dict[str, CaseResult]) -> str:
    small = by_name["a"]
    return (
        "**How far to trust these.** The machine is shared: other processes "
        "ran during the benchmark (see the load average above), so "
        "wall-clock runs of one method vary, as the shortest and longest runs "
        "in the context table show. Interleaving puts each method under "
        "similar load, and the user-time table is a cross-check. Ratios of "
        f"case (a) rest on runs of {small.median('ours') * 1e3:.0f} ms or so "
        "and are the least stable."
    )


def _times(result: CaseResult, numerator: str, denominator: str) -> str:
    return f"{format_ratio(result.time_ratio(numerator, denominator))}×"
