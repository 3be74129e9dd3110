"""The IOC board: a web page for the wall screen and the operator's desk, over the metrics service's figures."""
