"""The central check's clip selection."""

from federated.central import spread


def test_spread_keeps_the_first_and_last_devices():
    clips = list(range(210))  # listed device by device, as in a manifest
    picked = spread(clips, 200)
    assert len(picked) == len(set(picked)) == 200
    assert picked[0] == 0 and picked[-1] == 209  # a stride of 1 cut at 200 dropped 200-209
    assert spread(clips, None) == clips and spread(clips[:5], 200) == clips[:5]
