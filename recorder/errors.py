"""Exceptions raised by the recorder package, each with a machine code and a booth message."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from recorder.quality import QualityReport


class RecorderError(Exception):
    """Base of every error the recorder raises.

    Attributes:
        code: Stable machine-readable code, e.g. ``"not_audio"``.
        message_zh: Short Chinese sentence suitable for the booth screen.
    """

    code: str = "recorder_error"
    message_zh: str = "录音处理失败，请重试或联系馆员"

    def __init__(self, detail: str = "", *, message_zh: str | None = None) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        if message_zh is not None:
            self.message_zh = message_zh


class FfmpegError(RecorderError):
    """ffmpeg could not be found, exited non-zero or timed out."""

    code = "ffmpeg_failed"
    message_zh = "音频处理程序出错，请联系馆员"

    def __init__(self, detail: str = "", *, stderr_tail: str = "", returncode: int | None = None):
        super().__init__(detail)
        self.stderr_tail = stderr_tail
        self.returncode = returncode


class FfmpegTimeoutError(FfmpegError):
    """ffmpeg ran longer than its allotted time and was killed."""

    code = "ffmpeg_timeout"
    message_zh = "音频处理超时，请联系馆员"


class NoSpaceError(RecorderError):
    """The disk filled up while processing: nothing is wrong with the audio, and a retry will do.

    Not an ``FfmpegError``, so that no caller mistakes a full disk for a broken file.
    """

    code = "no_space"
    message_zh = "服务器存储空间不足，录音已保存，空间恢复后会自动处理"


class NotAudioError(RecorderError):
    """The file has no audio stream or cannot be decoded."""

    code = "not_audio"
    message_zh = "文件不是可识别的音频"


class TooLongError(RecorderError):
    """The decoded audio is longer than the preset allows."""

    code = "too_long"
    message_zh = "录音太长，超过了允许的时长"


class TruncatedError(RecorderError):
    """The file ends before its header says it does: an upload or copy was cut off."""

    code = "truncated"
    message_zh = "文件不完整，可能没有上传完，请重新上传"


class TooShortError(RecorderError):
    """Too little audio to master (under the preset's ``min_duration_s``)."""

    code = "too_short"
    message_zh = "录音太短，请至少录几秒钟"


class TooLargeError(RecorderError):
    """The file is larger than the preset allows."""

    code = "too_large"
    message_zh = "文件太大，无法处理"


class SilentTakeError(RecorderError):
    """The take contains no speech: digital silence, or only steady noise.

    Attributes:
        report: The quality report of the take, for display at the booth.
    """

    code = "silent_take"
    message_zh = "没有录到声音，请检查话筒后重录"

    def __init__(self, detail: str = "", *, report: QualityReport | None = None) -> None:
        super().__init__(detail)
        self.report = report


class EspeakMissingError(RecorderError):
    """espeak-ng is not installed, so text cannot be spoken."""

    code = "espeak_missing"
    message_zh = "语音合成程序未安装"
