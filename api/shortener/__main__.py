from shortener.main import serve

serve()
