# Type stub for the compiled module built from native/*.cc (see native/bindings.cc).
import numpy as np
import numpy.typing as npt

class Fbank:
    def __init__(
        self,
        sample_rate: int,
        num_mel_bins: int,
        frame_length_ms: float,
        frame_shift_ms: float,
        low_freq_hz: float,
        high_freq_hz: float,
        window: str,
        preemphasis: float,
        remove_dc_offset: bool,
        snip_edges: bool,
        use_energy: bool,
        energy_floor: float,
    ) -> None: ...
    @property
    def num_bins(self) -> int: ...
    def feed(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
    def finish(self) -> npt.NDArray[np.float32]: ...
    def reset(self) -> None: ...
