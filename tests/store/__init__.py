# A package, as tests/reports is: the store's test modules get names of their own (store.test_…),
# so they may share a file name with a test elsewhere in the suite.
