"""GNSS collections: daily position time series and RINEX observations."""
