"""Reports for client dashboards: stock value by category and collection, sales per day."""
