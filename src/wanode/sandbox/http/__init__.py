"""What the Graph and control-panel routes share: reading a request's parameters and body
(`params`), Graph's cursor paging (`paging`), and the HTTP answer of each error (`errors`)."""
