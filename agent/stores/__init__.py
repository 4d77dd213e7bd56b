"""Where the sheet lives: memory, a local workbook, or a Google Sheet."""
